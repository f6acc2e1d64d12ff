//! Diesel table definitions; they mirror `migrations/`.

diesel::table! {
    accounts (account_id) {
        account_id -> Uuid,
        role -> Nullable<Text>,
        role_revision -> Int8,
        email -> Nullable<Text>,
        email_revision -> Int8,
    }
}

diesel::table! {
    daily_earnings (account_id, business_date) {
        account_id -> Uuid,
        business_date -> Date,
        earned_cents -> Int8,
        revision -> Int8,
    }
}

diesel::table! {
    closes (business_date) {
        business_date -> Date,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        payouts -> Int8,
        paid_cents -> Int8,
    }
}

diesel::table! {
    payouts (payout_id) {
        payout_id -> Uuid,
        account_id -> Uuid,
        business_date -> Date,
        amount_cents -> Int8,
        paid_at -> Timestamptz,
    }
}

diesel::table! {
    emails (payout_id) {
        payout_id -> Uuid,
        account_id -> Uuid,
        message_id -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        lease_id -> Nullable<Uuid>,
        lease_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(emails -> payouts (payout_id));
diesel::allow_tables_to_appear_in_same_query!(accounts, daily_earnings, closes, payouts, emails);
