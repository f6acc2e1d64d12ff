//! Diesel table definitions; they mirror `migrations/`.

diesel::table! {
    accounts (public_id) {
        public_id -> Uuid,
        role -> Text,
        revision -> Int8,
    }
}

diesel::table! {
    tasks (id) {
        id -> Int8,
        public_id -> Uuid,
        description -> Text,
        description_revision -> Int8,
        status -> Text,
        assignee_id -> Uuid,
        creator_id -> Uuid,
        fee_cents -> Int8,
        reward_cents -> Int8,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        title -> Nullable<Text>,
        jira_id -> Nullable<Text>,
        title_derived -> Bool,
        jira_id_derived -> Bool,
        announced_revision -> Nullable<Int8>,
    }
}

diesel::table! {
    assignments (public_id) {
        public_id -> Uuid,
        task_id -> Int8,
        assignee_id -> Uuid,
        assigned_at -> Timestamptz,
        reshuffle_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    request_keys (caller_id, request_id) {
        caller_id -> Uuid,
        request_id -> Uuid,
        method -> Text,
        fingerprint -> Text,
        result_id -> Nullable<Uuid>,
        result_count -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(assignments -> tasks (task_id));
diesel::allow_tables_to_appear_in_same_query!(accounts, tasks, assignments, request_keys);
