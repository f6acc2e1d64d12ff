//! Diesel table definitions; they mirror `migrations/`.

diesel::table! {
    accounts (id) {
        id -> Int8,
        public_id -> Uuid,
        email -> Text,
        role -> Text,
        beak_digest -> Bytea,
        revision -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        public_key_x -> Text,
        private_key_sealed -> Bytea,
        created_at -> Timestamptz,
        retired_at -> Nullable<Timestamptz>,
        verify_until -> Nullable<Timestamptz>,
    }
}
