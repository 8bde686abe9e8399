-- keitai-gateway schema, version 2: phone and staff sessions, shared by every gateway (a load
-- balancer without stickiness may send a phone's next request to another gateway). Idle
-- expiry is measured on the database's clock, so gateways' clocks need not agree.
CREATE TABLE sessions (
    kind      text COLLATE "C" NOT NULL,
    id        text COLLATE "C" NOT NULL,
    body      jsonb NOT NULL,
    last_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);
CREATE INDEX sessions_idle ON sessions (kind, last_seen);
