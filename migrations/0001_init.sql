-- keitai-gateway schema, version 1: every record the gateway keeps.
--
-- Each record is stored whole as `body` (the same JSON the embedded engine keeps), beside the
-- columns that lookups, constraints and the conditional updates need. Keys are compared
-- byte-wise (COLLATE "C"), so listings come in the order the embedded engine gives.
-- The gateway applies this file itself (see schema_migrations); do not edit it once released:
-- add 0002_….sql instead.

-- Fixed facts of the database: the sealed key check (proves every gateway has the same key).
CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

-- Gapless counters advanced under a row lock inside the transaction that uses them, so an
-- aborted transaction issues nothing (受付番号 are consecutive across every gateway).
CREATE TABLE counters (
    name text COLLATE "C" PRIMARY KEY,
    next bigint NOT NULL
);
INSERT INTO counters (name, next) VALUES ('receipt', 1000001);

-- The head of the one audit hash chain: locked by every audited transaction, so records of
-- all gateways form one chain in commit order.
CREATE TABLE audit_head (
    id       int PRIMARY KEY CHECK (id = 1),
    next_seq bigint NOT NULL,
    hash     text NOT NULL
);
INSERT INTO audit_head (id, next_seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE customers (
    contract_id text COLLATE "C" PRIMARY KEY,
    body        jsonb NOT NULL
);

CREATE TABLE tokens (
    serial        text COLLATE "C" PRIMARY KEY,
    -- The last accepted time step (-1: none yet). Only ever raised, by a conditional UPDATE
    -- (`… AND last_step < $new`): two gateways can never both accept one code.
    last_step     bigint NOT NULL DEFAULT -1,
    fails         int NOT NULL DEFAULT 0,
    assigned_to   text COLLATE "C",
    free_hardware boolean NOT NULL,
    body          jsonb NOT NULL
);
CREATE INDEX tokens_assigned ON tokens (assigned_to, serial) WHERE assigned_to IS NOT NULL;
CREATE INDEX tokens_free_hardware ON tokens (serial) WHERE free_hardware;

CREATE TABLE receipts (
    number      int PRIMARY KEY CHECK (number BETWEEN 1000001 AND 9999999),
    contract_id text COLLATE "C" NOT NULL,
    body        jsonb NOT NULL
);
CREATE INDEX receipts_contract ON receipts (contract_id, number);

CREATE TABLE attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contract_id text COLLATE "C",
    body        jsonb NOT NULL
);
CREATE INDEX attempts_contract ON attempts (contract_id, id) WHERE contract_id IS NOT NULL;

CREATE TABLE audit (
    seq         bigint PRIMARY KEY,
    at          bigint NOT NULL,
    contract_id text COLLATE "C",
    body        jsonb NOT NULL
);
CREATE INDEX audit_contract ON audit (contract_id, seq) WHERE contract_id IS NOT NULL;

CREATE TABLE api_keys (
    hash bytea PRIMARY KEY CHECK (length(hash) = 32),
    name text COLLATE "C" NOT NULL,
    body jsonb NOT NULL
);
CREATE INDEX api_keys_name ON api_keys (name, hash);

CREATE TABLE staff (
    staff_id text COLLATE "C" PRIMARY KEY,
    body     jsonb NOT NULL
);

-- Maker–checker records: `decided_at` is NULL while a supervisor has not decided.
CREATE TABLE forms (
    form_no     text COLLATE "C" PRIMARY KEY,
    contract_id text COLLATE "C" NOT NULL,
    decided_at  bigint,
    body        jsonb NOT NULL
);
CREATE INDEX forms_contract ON forms (contract_id, form_no);
CREATE INDEX forms_pending ON forms (form_no) WHERE decided_at IS NULL;
CREATE INDEX forms_decided ON forms (decided_at) WHERE decided_at IS NOT NULL;

CREATE TABLE releases (
    id          bigint PRIMARY KEY,
    contract_id text COLLATE "C" NOT NULL,
    decided_at  bigint,
    body        jsonb NOT NULL
);
CREATE INDEX releases_contract ON releases (contract_id, id);
CREATE INDEX releases_pending ON releases (id) WHERE decided_at IS NULL;
CREATE INDEX releases_decided ON releases (decided_at) WHERE decided_at IS NOT NULL;

CREATE TABLE applications (
    application_no text COLLATE "C" PRIMARY KEY,
    contract_id    text COLLATE "C" NOT NULL,
    at             bigint NOT NULL,
    body           jsonb NOT NULL
);
CREATE INDEX applications_contract ON applications (contract_id, application_no);
CREATE INDEX applications_at ON applications (at);
