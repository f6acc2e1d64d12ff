//! Paged lists, the same for every service: a page size with a default and a ceiling, and an
//! opaque token naming the last item of the previous page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::input::InvalidField;

/// One page to read: at most `limit` items after the item `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// How many items to return.
    pub limit: i64,
    /// The public id of the last item of the previous page.
    pub after: Option<Uuid>,
}

impl Page {
    /// Reads a request's `page_size` (0 means `default`, at most `max`) and `page_token`.
    pub fn parse(size: i32, token: &str, default: i32, max: i32) -> Result<Self, InvalidField> {
        let size = match size {
            0 => default,
            size if (1..=max).contains(&size) => size,
            _ => {
                return Err(InvalidField::new(
                    "page_size",
                    format!("must be between 0 and {max}"),
                ));
            }
        };
        let after = if token.is_empty() {
            None
        } else {
            let invalid = || InvalidField::new("page_token", "is not a token this API issued");
            let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
            Some(Uuid::from_slice(&bytes).map_err(|_| invalid())?)
        };
        Ok(Self {
            limit: i64::from(size),
            after,
        })
    }

    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Trims the extra row fetched and returns the token of the next page (empty on the last).
    pub fn finish<T>(&self, rows: &mut Vec<T>, id_of: impl Fn(&T) -> Uuid) -> String {
        if rows.len() > usize::try_from(self.limit).unwrap_or(usize::MAX) {
            rows.pop();
            rows.last()
                .map(|row| URL_SAFE_NO_PAD.encode(id_of(row).as_bytes()))
                .unwrap_or_default()
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_default_and_are_bounded_and_tokens_round_trip() {
        assert_eq!(Page::parse(0, "", 100, 500).unwrap().limit, 100);
        assert_eq!(
            Page::parse(501, "", 100, 500).unwrap_err().field,
            "page_size"
        );
        assert_eq!(
            Page::parse(-1, "", 100, 500).unwrap_err().field,
            "page_size"
        );
        assert_eq!(
            Page::parse(10, "%%", 100, 500).unwrap_err().field,
            "page_token"
        );
        let page = Page::parse(2, "", 100, 500).unwrap();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let mut rows = ids.clone();
        let token = page.finish(&mut rows, |id| *id);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            Page::parse(2, &token, 100, 500).unwrap().after,
            Some(ids[1])
        );
        let mut last = vec![ids[0]];
        assert_eq!(page.finish(&mut last, |id| *id), "");
    }
}
