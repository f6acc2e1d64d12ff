//! Diesel table definitions; they mirror `migrations/`.

diesel::table! {
    accounts (account_id) {
        account_id -> Uuid,
        role -> Text,
        revision -> Int8,
    }
}

diesel::table! {
    tasks (task_id) {
        task_id -> Uuid,
        description -> Text,
        description_revision -> Int8,
        fee_cents -> Nullable<Int8>,
        reward_cents -> Nullable<Int8>,
        created_at -> Nullable<Timestamptz>,
        title -> Nullable<Text>,
        jira_id -> Nullable<Text>,
        title_revision -> Nullable<Int8>,
    }
}

diesel::table! {
    balances (account_id) {
        account_id -> Uuid,
        balance_cents -> Int8,
        revision -> Int8,
    }
}

diesel::table! {
    entries (entry_id) {
        entry_id -> Uuid,
        account_id -> Uuid,
        task_id -> Nullable<Uuid>,
        kind -> Text,
        amount_cents -> Int8,
        business_date -> Date,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    day_totals (business_date) {
        business_date -> Date,
        fees_cents -> Int8,
        rewards_cents -> Int8,
    }
}

diesel::table! {
    resyncs (resync_id) {
        resync_id -> Uuid,
        position -> Int8,
        requested_at -> Timestamptz,
        wiped -> Bool,
    }
}

diesel::table! {
    resync_batches (resync_id, stream, batch_index) {
        resync_id -> Uuid,
        stream -> Text,
        batch_index -> Int4,
        last -> Bool,
        received_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(entries, tasks);
