//! Postings, entries, balances and task descriptions.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{accounts, balances, ledger_entries};
use crate::domain::Posting;

/// An employee's ledger entry as stored, with its task's current description.
#[derive(Debug, Clone, QueryableByName)]
pub struct EntryRow {
    /// Public id.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub public_id: Uuid,
    /// The employee.
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub account_id: Option<Uuid>,
    /// The task, for fees and rewards.
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub task_id: Option<Uuid>,
    /// Kind as stored.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// Signed amount.
    #[diesel(sql_type = BigInt)]
    pub amount_cents: i64,
    /// Business date.
    #[diesel(sql_type = Date)]
    pub business_date: NaiveDate,
    /// When the fact happened.
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub occurred_at: DateTime<Utc>,
    /// The task's description as accounting knows it.
    #[diesel(sql_type = Nullable<Text>)]
    pub task_description: Option<String>,
    /// The task's title, once a version 2 event told it.
    #[diesel(sql_type = Nullable<Text>)]
    pub task_title: Option<String>,
    /// The task's jira id, when it has one and a version 2 event told it.
    #[diesel(sql_type = Nullable<Text>)]
    pub task_jira_id: Option<String>,
}

/// A balance row.
#[derive(Debug, Clone, Copy, Queryable)]
pub struct BalanceRow {
    /// The employee.
    pub account_id: Uuid,
    /// Sum of its entries.
    pub balance_cents: i64,
    /// Number of its entries.
    pub entry_count: i64,
    /// Time of the last entry.
    pub updated_at: DateTime<Utc>,
}

/// Records the postings whose business keys were not posted before (the first of duplicates
/// within `postings` wins), with their legs. Returns, for each posting that was new, its index
/// in `postings` and its employee entry's public id.
pub async fn post_all(
    conn: &mut AsyncPgConnection,
    postings: &[Posting],
) -> QueryResult<Vec<(usize, Uuid)>> {
    use diesel::sql_types::{Array, Nullable, Timestamptz};
    let mut seen = std::collections::HashSet::new();
    let candidates: Vec<usize> = (0..postings.len())
        .filter(|&index| seen.insert(postings[index].business_key()))
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = candidates.iter().map(|_| Uuid::now_v7()).collect();
    let keys: Vec<&str> = candidates
        .iter()
        .map(|&index| postings[index].business_key())
        .collect();
    let kinds: Vec<&str> = candidates
        .iter()
        .map(|&index| postings[index].kind().as_str())
        .collect();
    #[derive(QueryableByName)]
    struct Posted {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let posted: Vec<Posted> = diesel::sql_query(
        "INSERT INTO postings (id, business_key, kind) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) \
         ON CONFLICT (business_key) DO NOTHING RETURNING id",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<Array<Text>, _>(&keys)
    .bind::<Array<Text>, _>(&kinds)
    .load(conn)
    .await?;
    let posted: std::collections::HashSet<Uuid> = posted.into_iter().map(|row| row.id).collect();

    let mut new_postings = Vec::new();
    // Legs go in in account order, so that concurrent transactions (replicas, other queues) take
    // the balance rows in one order and cannot deadlock.
    let mut candidates: Vec<(usize, Uuid)> = candidates
        .iter()
        .copied()
        .zip(ids.iter().copied())
        .collect();
    candidates.sort_by_key(|&(index, _)| postings[index].account());
    let (mut entry_ids, mut posting_ids, mut books, mut accounts, mut tasks_column) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut kinds, mut amounts, mut dates, mut times) = (vec![], vec![], vec![], vec![]);
    for &(index, posting_id) in &candidates {
        if !posted.contains(&posting_id) {
            continue;
        }
        let posting = &postings[index];
        for (leg_index, leg) in posting.legs().iter().enumerate() {
            let entry_id = Uuid::now_v7();
            if leg_index == 0 {
                new_postings.push((index, entry_id));
            }
            entry_ids.push(entry_id);
            posting_ids.push(posting_id);
            books.push(leg.book.as_str());
            accounts.push(leg.book.account());
            tasks_column.push(posting.task_id());
            kinds.push(posting.kind().as_str());
            amounts.push(leg.amount_cents);
            dates.push(posting.business_date());
            times.push(posting.occurred_at());
        }
    }
    if entry_ids.is_empty() {
        return Ok(new_postings);
    }
    diesel::sql_query(
        "INSERT INTO ledger_entries (public_id, posting_id, book, account_id, task_id, kind, amount_cents, business_date, occurred_at) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::bigint[], $8::date[], $9::timestamptz[])",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&entry_ids)
    .bind::<Array<diesel::sql_types::Uuid>, _>(&posting_ids)
    .bind::<Array<Text>, _>(&books)
    .bind::<Array<Nullable<diesel::sql_types::Uuid>>, _>(&accounts)
    .bind::<Array<Nullable<diesel::sql_types::Uuid>>, _>(&tasks_column)
    .bind::<Array<Text>, _>(&kinds)
    .bind::<Array<BigInt>, _>(&amounts)
    .bind::<Array<Date>, _>(&dates)
    .bind::<Array<Timestamptz>, _>(&times)
    .execute(conn)
    .await?;
    Ok(new_postings)
}

/// A task's text as one event tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskText {
    /// The task.
    pub task_id: Uuid,
    /// Its description.
    pub description: String,
    /// Its title and jira id, from version 2 events (`None` from version 1, which carry
    /// neither: what is known of them is kept).
    pub title: Option<(String, Option<String>)>,
    /// The revision of the task's details: 0 from a version 1 assignment (which does not say),
    /// the details' revision from every other event.
    pub revision: i64,
}

/// What is known of a task's text: the description and the title, each at the revision that
/// told it (every text has a description, so it is set from the first `learn` on).
#[derive(Debug, Default)]
struct KnownText<'a> {
    description: Option<(&'a str, i64)>,
    title: Option<(&'a str, Option<&'a str>, i64)>,
}

impl<'a> KnownText<'a> {
    /// Takes `text` in: a description of a higher revision replaces the known one, and so does
    /// a title (a text without one leaves the known title alone).
    fn learn(&mut self, text: &'a TaskText) {
        if self
            .description
            .is_none_or(|(_, known)| text.revision > known)
        {
            self.description = Some((&text.description, text.revision));
        }
        if let Some((title, jira_id)) = &text.title
            && self.title.is_none_or(|(_, _, known)| text.revision > known)
        {
            self.title = Some((title, jira_id.as_deref(), text.revision));
        }
    }
}

/// Remembers tasks' texts. The description and the title are merged separately, each keeping
/// the highest revision heard (the first heard among equals), so the result does not depend on
/// the order the events arrive in: a version 1 text (no title) never hides a title, and a
/// version 1 assignment (revision 0) replaces nothing.
pub async fn remember_descriptions(
    conn: &mut AsyncPgConnection,
    texts: &[TaskText],
) -> QueryResult<()> {
    use diesel::sql_types::{Array, Nullable};
    let mut known: std::collections::BTreeMap<Uuid, KnownText<'_>> =
        std::collections::BTreeMap::new();
    for text in texts {
        known.entry(text.task_id).or_default().learn(text);
    }
    if known.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = known.keys().copied().collect();
    let descriptions: Vec<&str> = known
        .values()
        .map(|text| text.description.map_or("", |(description, _)| description))
        .collect();
    let revisions: Vec<i64> = known
        .values()
        .map(|text| text.description.map_or(-1, |(_, revision)| revision))
        .collect();
    let titles: Vec<Option<&str>> = known
        .values()
        .map(|text| text.title.map(|(title, _, _)| title))
        .collect();
    let jira_ids: Vec<Option<&str>> = known
        .values()
        .map(|text| text.title.and_then(|(_, jira_id, _)| jira_id))
        .collect();
    let title_revisions: Vec<Option<i64>> = known
        .values()
        .map(|text| text.title.map(|(_, _, revision)| revision))
        .collect();
    diesel::sql_query(
        "INSERT INTO tasks (task_id, description, description_revision, title, jira_id, title_revision) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[]) \
         ON CONFLICT (task_id) DO UPDATE SET \
           description = CASE WHEN excluded.description_revision > tasks.description_revision \
               THEN excluded.description ELSE tasks.description END, \
           description_revision = GREATEST(tasks.description_revision, excluded.description_revision), \
           title = CASE WHEN excluded.title IS NOT NULL AND (tasks.title IS NULL \
                   OR excluded.title_revision > tasks.title_revision) \
               THEN excluded.title ELSE tasks.title END, \
           jira_id = CASE WHEN excluded.title IS NOT NULL AND (tasks.title IS NULL \
                   OR excluded.title_revision > tasks.title_revision) \
               THEN excluded.jira_id ELSE tasks.jira_id END, \
           title_revision = CASE WHEN excluded.title IS NOT NULL AND (tasks.title IS NULL \
                   OR excluded.title_revision > tasks.title_revision) \
               THEN excluded.title_revision ELSE tasks.title_revision END",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<Array<Text>, _>(&descriptions)
    .bind::<Array<BigInt>, _>(&revisions)
    .bind::<Array<Nullable<Text>>, _>(&titles)
    .bind::<Array<Nullable<Text>>, _>(&jira_ids)
    .bind::<Array<Nullable<BigInt>>, _>(&title_revisions)
    .execute(conn)
    .await
    .map(drop)
}

/// What an account earned on one business date: its fee and reward entries of that date.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct DateEarnings {
    /// The employee.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub account_id: Uuid,
    /// The business date.
    #[diesel(sql_type = Date)]
    pub business_date: NaiveDate,
    /// Sum of the fee and reward entries of that date (payouts excluded).
    #[diesel(sql_type = BigInt)]
    pub earned_cents: i64,
    /// How many fee and reward entries of that date there are.
    #[diesel(sql_type = BigInt)]
    pub entries: i64,
}

/// What each `(account, date)` pair earned, in one statement (one primary-key lookup per pair in
/// the totals the balance trigger keeps). Pairs without fee or reward entries come back with
/// zeros.
pub async fn date_earnings(
    conn: &mut AsyncPgConnection,
    pairs: &[(Uuid, NaiveDate)],
) -> QueryResult<Vec<DateEarnings>> {
    use diesel::sql_types::Array;
    let accounts: Vec<Uuid> = pairs.iter().map(|(account, _)| *account).collect();
    let dates: Vec<NaiveDate> = pairs.iter().map(|(_, date)| *date).collect();
    diesel::sql_query(
        "SELECT pair.account_id, pair.business_date, \
                COALESCE(d.earned_cents, 0)::bigint AS earned_cents, \
                COALESCE(d.entry_count, 0)::bigint AS entries \
         FROM unnest($1::uuid[], $2::date[]) AS pair (account_id, business_date) \
         LEFT JOIN date_earnings d ON d.account_id = pair.account_id \
              AND d.business_date = pair.business_date \
         ORDER BY pair.account_id, pair.business_date",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&accounts)
    .bind::<Array<Date>, _>(&dates)
    .load(conn)
    .await
}

/// The balances of these accounts.
pub async fn balances_of(
    conn: &mut AsyncPgConnection,
    accounts: &[Uuid],
) -> QueryResult<Vec<BalanceRow>> {
    balances::table
        .filter(balances::account_id.eq_any(accounts))
        .select((
            balances::account_id,
            balances::balance_cents,
            balances::entry_count,
            balances::updated_at,
        ))
        .order(balances::account_id)
        .load(conn)
        .await
}

/// Remembers that auth announced these accounts (again is nothing new).
pub async fn remember_accounts(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    diesel::insert_into(accounts::table)
        .values(
            ids.iter()
                .map(|id| accounts::account_id.eq(*id))
                .collect::<Vec<_>>(),
        )
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether accounting knows the account: auth announced it, or it has an entry.
pub async fn is_known(conn: &mut AsyncPgConnection, account_id: Uuid) -> QueryResult<bool> {
    let announced =
        diesel::dsl::exists(accounts::table.filter(accounts::account_id.eq(account_id)));
    let has_entries =
        diesel::dsl::exists(balances::table.filter(balances::account_id.eq(account_id)));
    diesel::select(announced.or(has_entries))
        .get_result(conn)
        .await
}

/// Balances ordered by account, after `after`.
pub async fn balances_page(
    conn: &mut AsyncPgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<BalanceRow>> {
    let mut query = balances::table
        .select((
            balances::account_id,
            balances::balance_cents,
            balances::entry_count,
            balances::updated_at,
        ))
        .order(balances::account_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(balances::account_id.gt(after));
    }
    query.load(conn).await
}

/// How many accounts are negative now.
pub async fn negative_count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    balances::table
        .filter(balances::balance_cents.lt(0))
        .count()
        .get_result(conn)
        .await
}

/// An account's balance at the start of `date` and the sum of its entries on `date`.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct DaySums {
    /// Sum of the entries before the date.
    #[diesel(sql_type = BigInt)]
    pub opening_cents: i64,
    /// Sum of the entries on the date.
    #[diesel(sql_type = BigInt)]
    pub during_cents: i64,
}

/// The opening balance and the day's movement of an account, in one pass over its entries.
pub async fn day_sums(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    date: NaiveDate,
) -> QueryResult<DaySums> {
    diesel::sql_query(
        "SELECT COALESCE(sum(amount_cents) FILTER (WHERE business_date < $2), 0)::bigint AS opening_cents, \
                COALESCE(sum(amount_cents) FILTER (WHERE business_date = $2), 0)::bigint AS during_cents \
         FROM ledger_entries WHERE book = 'employee' AND account_id = $1 AND business_date <= $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(account_id)
    .bind::<Date, _>(date)
    .get_result(conn)
    .await
}

/// An account's entries of one business date in the order they were recorded, after the entry
/// `after`, with their tasks' current descriptions.
///
/// The page is read first, from the partial index `ledger_entries_by_account` (the book is a
/// literal so that any plan may use that index), and only its rows are joined to their tasks, one
/// key lookup each (the `LIMIT 1` keeps the planner from turning the lookups into a hash of every
/// task accounting knows). Left to itself the planner had walked the whole ledger in id order, or
/// hashed all tasks, for each page: 13 to 50 ms at 42,000 entries, growing with the ledger.
pub async fn day_entries(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    date: NaiveDate,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<EntryRow>> {
    let after_id = match after {
        Some(after) => ledger_entries::table
            .filter(ledger_entries::public_id.eq(after))
            .select(ledger_entries::id)
            .first::<i64>(conn)
            .await
            .optional()?
            .unwrap_or(i64::MAX),
        None => 0,
    };
    diesel::sql_query(
        "SELECT page.public_id, page.account_id, page.task_id, page.kind, page.amount_cents, \
                page.business_date, page.occurred_at, task.description AS task_description, \
                task.title AS task_title, task.jira_id AS task_jira_id \
         FROM (SELECT id, public_id, account_id, task_id, kind, amount_cents, business_date, occurred_at \
               FROM ledger_entries \
               WHERE book = 'employee' AND account_id = $1 AND business_date = $2 AND id > $3 \
               ORDER BY id LIMIT $4) AS page \
         LEFT JOIN LATERAL (SELECT description, title, jira_id FROM tasks \
                            WHERE tasks.task_id = page.task_id LIMIT 1) AS task ON true \
         ORDER BY page.id",
    )
    .bind::<diesel::sql_types::Uuid, _>(account_id)
    .bind::<Date, _>(date)
    .bind::<BigInt, _>(after_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Fees and rewards per business date of an inclusive range (dates without entries are absent).
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct DayTotals {
    /// The date.
    #[diesel(sql_type = Date)]
    pub business_date: NaiveDate,
    /// Sum of fees charged, positive.
    #[diesel(sql_type = BigInt)]
    pub fees_cents: i64,
    /// Sum of rewards credited, positive.
    #[diesel(sql_type = BigInt)]
    pub rewards_cents: i64,
}

/// Management's fees and rewards per day, summed over the accounts' per-date totals the balance
/// trigger keeps (one row per account and date, not one per entry).
pub async fn day_totals(
    conn: &mut AsyncPgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<DayTotals>> {
    diesel::sql_query(
        "SELECT business_date, sum(fees_cents)::bigint AS fees_cents, \
            sum(rewards_cents)::bigint AS rewards_cents \
         FROM date_earnings WHERE business_date BETWEEN $1 AND $2 \
         GROUP BY business_date ORDER BY business_date",
    )
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)
    .await
}

/// An employee's ledger entry with its row id, in the order entries were recorded.
#[derive(Debug, Clone, Queryable)]
pub struct RecordedEntry {
    /// Internal row id: the order of recording.
    pub id: i64,
    /// Public id.
    pub public_id: Uuid,
    /// The employee.
    pub account_id: Option<Uuid>,
    /// The task, for fees and rewards.
    pub task_id: Option<Uuid>,
    /// Kind as stored.
    pub kind: String,
    /// Signed amount.
    pub amount_cents: i64,
    /// Business date.
    pub business_date: NaiveDate,
    /// When the fact happened.
    pub occurred_at: DateTime<Utc>,
}

/// Up to `limit` employee entries recorded after the row `after` (a snapshot's batch).
pub async fn employee_entries_after(
    conn: &mut AsyncPgConnection,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<RecordedEntry>> {
    ledger_entries::table
        .filter(ledger_entries::book.eq("employee"))
        .filter(ledger_entries::id.gt(after.unwrap_or(0)))
        .select((
            ledger_entries::id,
            ledger_entries::public_id,
            ledger_entries::account_id,
            ledger_entries::task_id,
            ledger_entries::kind,
            ledger_entries::amount_cents,
            ledger_entries::business_date,
            ledger_entries::occurred_at,
        ))
        .order(ledger_entries::id)
        .limit(limit)
        .load(conn)
        .await
}
