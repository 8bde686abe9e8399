-- keitai-gateway schema, version 3: signed-in branch staff sessions, stored under the SHA-256
-- of their ID (a copy of the database holds no session ID a browser could present).
CREATE TABLE staff_sessions (
    key      text COLLATE "C" PRIMARY KEY,
    staff_id text COLLATE "C" NOT NULL,
    body     jsonb NOT NULL
);
