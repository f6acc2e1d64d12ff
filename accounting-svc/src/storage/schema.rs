//! Diesel table definitions; they mirror `migrations/`.

diesel::table! {
    postings (id) {
        id -> Uuid,
        business_key -> Text,
        kind -> Text,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Int8,
        public_id -> Uuid,
        posting_id -> Uuid,
        book -> Text,
        account_id -> Nullable<Uuid>,
        task_id -> Nullable<Uuid>,
        kind -> Text,
        amount_cents -> Int8,
        business_date -> Date,
        occurred_at -> Timestamptz,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    balances (account_id) {
        account_id -> Uuid,
        balance_cents -> Int8,
        entry_count -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    date_earnings (account_id, business_date) {
        account_id -> Uuid,
        business_date -> Date,
        earned_cents -> Int8,
        entry_count -> Int8,
        fees_cents -> Int8,
        rewards_cents -> Int8,
    }
}

diesel::table! {
    accounts (account_id) {
        account_id -> Uuid,
        announced_at -> Timestamptz,
    }
}

diesel::table! {
    tasks (task_id) {
        task_id -> Uuid,
        description -> Text,
        description_revision -> Int8,
        title -> Nullable<Text>,
        jira_id -> Nullable<Text>,
        title_revision -> Nullable<Int8>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    postings,
    ledger_entries,
    balances,
    date_earnings,
    accounts,
    tasks
);
