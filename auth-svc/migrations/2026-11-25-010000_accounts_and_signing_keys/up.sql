-- Accounts. The beak is never stored: only its HMAC-SHA256 under the server's beak key, unique so
-- that sign-in finds the account by beak alone.
CREATE TABLE accounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id UUID NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'accountant', 'worker')),
    beak_digest BYTEA NOT NULL UNIQUE,
    -- Increased by every change; carried by account events so consumers ignore stale ones.
    revision BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Ed25519 signing keys. The private key is stored encrypted (ChaCha20-Poly1305 under the key
-- encryption key from configuration; nonce first). Exactly one key is current (retired_at NULL);
-- a retired key keeps verifying until verify_until, when every token it signed has expired.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    public_key_x TEXT NOT NULL,
    private_key_sealed BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    retired_at TIMESTAMPTZ,
    verify_until TIMESTAMPTZ
);

CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys ((true)) WHERE retired_at IS NULL;
