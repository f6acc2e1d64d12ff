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

diesel::joinable!(assignments -> tasks (task_id));
diesel::allow_tables_to_appear_in_same_query!(accounts, tasks, assignments);
