//! Paged lists, the same for every service: a page size with a default and a ceiling, and an
//! opaque token naming the last item of the previous page, bound to the list it came from.
//!
//! A token is the last item's id and a check: the first bytes of SHA-256 over the list's scope
//! (its method and every filter of the request) and that id. A token altered in any character,
//! or taken from another list or the same list with other filters, fails the check and is
//! refused as INVALID_ARGUMENT naming `page_token`. The check is not a secret: the scope only
//! keeps a client from mixing lists up; what a caller may see is decided by the method itself.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::input::InvalidField;

const CHECK_LEN: usize = 8;

/// One page to read: at most `limit` items after the item `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// How many items to return.
    pub limit: i64,
    /// The id of the last item of the previous page.
    pub after: Option<Uuid>,
    scope: String,
}

/// A list's page sizes: the size of a page when the request names none, and the most it may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSizes {
    /// For `page_size` 0.
    pub default: i32,
    /// The largest `page_size` accepted.
    pub max: i32,
}

impl Page {
    /// Reads a request's `page_size` (0 means the default, at most the ceiling) and
    /// `page_token`, which must come from a page of the same `scope`: the method's full name and
    /// the request's filters, e.g. `ates.accounting.v1.AccountingService/GetStatement?<account>&<date>`.
    pub fn parse(
        size: i32,
        token: &str,
        sizes: PageSizes,
        scope: impl Into<String>,
    ) -> Result<Self, InvalidField> {
        let size = match size {
            0 => sizes.default,
            size if (1..=sizes.max).contains(&size) => size,
            _ => {
                return Err(InvalidField::new(
                    "page_size",
                    format!("must be between 0 and {}", sizes.max),
                ));
            }
        };
        let scope = scope.into();
        let after = if token.is_empty() {
            None
        } else {
            let invalid = || {
                InvalidField::new(
                    "page_token",
                    "does not come from a previous page of this list with these filters",
                )
            };
            let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
            if bytes.len() != 16 + CHECK_LEN {
                return Err(invalid());
            }
            let (id, check) = bytes.split_at(16);
            let id = Uuid::from_slice(id).map_err(|_| invalid())?;
            if check != check_of(&scope, id) {
                return Err(invalid());
            }
            Some(id)
        };
        Ok(Self {
            limit: i64::from(size),
            after,
            scope,
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
                .map(|row| self.token(id_of(row)))
                .unwrap_or_default()
        } else {
            String::new()
        }
    }

    fn token(&self, id: Uuid) -> String {
        let mut bytes = id.as_bytes().to_vec();
        bytes.extend_from_slice(&check_of(&self.scope, id));
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

fn check_of(scope: &str, id: Uuid) -> [u8; CHECK_LEN] {
    let digest = Sha256::new()
        .chain_update(scope.as_bytes())
        .chain_update([0])
        .chain_update(id.as_bytes())
        .finalize();
    let mut check = [0; CHECK_LEN];
    check.copy_from_slice(&digest[..CHECK_LEN]);
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZES: PageSizes = PageSizes {
        default: 100,
        max: 500,
    };

    fn next_token(scope: &str, ids: &[Uuid]) -> String {
        let size = i32::try_from(ids.len() - 1).unwrap();
        let page = Page::parse(size, "", SIZES, scope).unwrap();
        let mut rows = ids.to_vec();
        page.finish(&mut rows, |id| *id)
    }

    #[test]
    fn sizes_default_and_are_bounded() {
        assert_eq!(Page::parse(0, "", SIZES, "list").unwrap().limit, 100);
        for bad in [501, -1] {
            assert_eq!(
                Page::parse(bad, "", SIZES, "list").unwrap_err().field,
                "page_size"
            );
        }
    }

    #[test]
    fn a_token_leads_to_the_next_page_of_its_own_list_only() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let scope = "ates.x.v1.X/List?filter";
        let page = Page::parse(2, "", SIZES, scope).unwrap();
        let mut rows = ids.clone();
        let token = page.finish(&mut rows, |id| *id);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            Page::parse(2, &token, SIZES, scope).unwrap().after,
            Some(ids[1])
        );
        // The last page has no next.
        let mut last = vec![ids[0]];
        assert_eq!(page.finish(&mut last, |id| *id), "");
        // Another list, or the same list with another filter.
        for other in ["ates.x.v1.X/Other?filter", "ates.x.v1.X/List?other"] {
            let refused = Page::parse(2, &token, SIZES, other).unwrap_err();
            assert_eq!(refused.field, "page_token", "{other}");
        }
    }

    #[test]
    fn a_token_changed_in_any_one_character_is_refused() {
        let scope = "ates.x.v1.X/List";
        let ids: Vec<Uuid> = (0..2).map(|_| Uuid::new_v4()).collect();
        let token = next_token(scope, &ids);
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for (index, original) in token.char_indices() {
            for replacement in alphabet.chars().filter(|c| *c != original) {
                let mut altered = token.clone();
                altered.replace_range(index..=index, &replacement.to_string());
                // The last character carries padding bits base64 ignores; an altered token
                // that decodes to the same bytes is the same token.
                if URL_SAFE_NO_PAD.decode(&altered).ok() == URL_SAFE_NO_PAD.decode(&token).ok() {
                    continue;
                }
                assert!(
                    Page::parse(1, &altered, SIZES, scope).is_err(),
                    "{altered} (from {token}) was accepted"
                );
            }
        }
        for garbage in ["%%", "AAAA", &token[..token.len() - 1]] {
            assert_eq!(
                Page::parse(1, garbage, SIZES, scope).unwrap_err().field,
                "page_token"
            );
        }
    }
}
