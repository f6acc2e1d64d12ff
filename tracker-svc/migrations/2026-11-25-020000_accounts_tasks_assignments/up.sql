-- The tracker's copy of auth's accounts: who may be assigned tasks. Kept from account events;
-- `revision` makes late deliveries harmless.
CREATE TABLE accounts (
    public_id UUID PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'accountant', 'worker')),
    revision BIGINT NOT NULL
);

CREATE INDEX accounts_eligible ON accounts (public_id) WHERE role IN ('worker', 'accountant');

CREATE TABLE tasks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id UUID NOT NULL UNIQUE,
    description TEXT NOT NULL,
    description_revision BIGINT NOT NULL DEFAULT 1,
    status TEXT NOT NULL CHECK (status IN ('open', 'done')),
    assignee_id UUID NOT NULL,
    creator_id UUID NOT NULL,
    -- Prices are whole dollars, in cents, fixed at creation.
    fee_cents BIGINT NOT NULL CHECK (fee_cents BETWEEN 1000 AND 2000 AND fee_cents % 100 = 0),
    reward_cents BIGINT NOT NULL CHECK (reward_cents BETWEEN 2000 AND 4000 AND reward_cents % 100 = 0),
    created_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ,
    CHECK ((status = 'done') = (completed_at IS NOT NULL))
);

CREATE INDEX tasks_open ON tasks (id) WHERE status = 'open';
CREATE INDEX tasks_by_assignee ON tasks (assignee_id, id);

-- Every assignment of every task, the unit a fee is charged for.
CREATE TABLE assignments (
    public_id UUID PRIMARY KEY,
    task_id BIGINT NOT NULL REFERENCES tasks (id),
    assignee_id UUID NOT NULL,
    assigned_at TIMESTAMPTZ NOT NULL,
    reshuffle_id UUID
);

CREATE INDEX assignments_by_task ON assignments (task_id, assigned_at);
