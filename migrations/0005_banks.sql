-- keitai-gateway schema, version 5: several banks in one database. Every record carries its
-- bank (4-digit 金融機関コード; '' for a one-bank database, whose records keep the key they
-- had), and the bank leads every key and index: the same contract ID in two banks is two
-- customers, a serial belongs to one bank's inventory, 受付番号 are counted per bank
-- (`counters` per bank) and each bank has its own audit chain (`audit_head` per bank).

ALTER TABLE counters ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE counters DROP CONSTRAINT counters_pkey, ADD PRIMARY KEY (bank, name);

ALTER TABLE audit_head ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE audit_head DROP CONSTRAINT audit_head_pkey, ADD PRIMARY KEY (bank, id);

ALTER TABLE customers ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE customers DROP CONSTRAINT customers_pkey, ADD PRIMARY KEY (bank, contract_id);

ALTER TABLE tokens ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE tokens DROP CONSTRAINT tokens_pkey, ADD PRIMARY KEY (bank, serial);
DROP INDEX tokens_assigned;
DROP INDEX tokens_free_hardware;
CREATE INDEX tokens_assigned ON tokens (bank, assigned_to, serial) WHERE assigned_to IS NOT NULL;
CREATE INDEX tokens_free_hardware ON tokens (bank, serial) WHERE free_hardware;

ALTER TABLE receipts ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE receipts DROP CONSTRAINT receipts_pkey, ADD PRIMARY KEY (bank, number);
DROP INDEX receipts_contract;
CREATE INDEX receipts_contract ON receipts (bank, contract_id, number);

ALTER TABLE attempts ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
DROP INDEX attempts_contract;
CREATE INDEX attempts_contract ON attempts (bank, contract_id, id) WHERE contract_id IS NOT NULL;
CREATE INDEX attempts_bank ON attempts (bank, id);

ALTER TABLE audit ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE audit DROP CONSTRAINT audit_pkey, ADD PRIMARY KEY (bank, seq);
DROP INDEX audit_contract;
CREATE INDEX audit_contract ON audit (bank, contract_id, seq) WHERE contract_id IS NOT NULL;

ALTER TABLE api_keys ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE api_keys DROP CONSTRAINT api_keys_pkey, ADD PRIMARY KEY (bank, hash);
DROP INDEX api_keys_name;
CREATE INDEX api_keys_name ON api_keys (bank, name, hash);

ALTER TABLE staff ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE staff DROP CONSTRAINT staff_pkey, ADD PRIMARY KEY (bank, staff_id);

ALTER TABLE forms ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE forms DROP CONSTRAINT forms_pkey, ADD PRIMARY KEY (bank, form_no);
DROP INDEX forms_contract;
DROP INDEX forms_pending;
DROP INDEX forms_decided;
CREATE INDEX forms_contract ON forms (bank, contract_id, form_no);
CREATE INDEX forms_pending ON forms (bank, form_no) WHERE decided_at IS NULL;
CREATE INDEX forms_decided ON forms (bank, decided_at) WHERE decided_at IS NOT NULL;

ALTER TABLE releases ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE releases DROP CONSTRAINT releases_pkey, ADD PRIMARY KEY (bank, id);
DROP INDEX releases_contract;
DROP INDEX releases_pending;
DROP INDEX releases_decided;
CREATE INDEX releases_contract ON releases (bank, contract_id, id);
CREATE INDEX releases_pending ON releases (bank, id) WHERE decided_at IS NULL;
CREATE INDEX releases_decided ON releases (bank, decided_at) WHERE decided_at IS NOT NULL;

ALTER TABLE applications ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE applications DROP CONSTRAINT applications_pkey, ADD PRIMARY KEY (bank, application_no);
DROP INDEX applications_contract;
DROP INDEX applications_at;
CREATE INDEX applications_contract ON applications (bank, contract_id, application_no);
CREATE INDEX applications_at ON applications (bank, at);

ALTER TABLE sessions ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE sessions DROP CONSTRAINT sessions_pkey, ADD PRIMARY KEY (bank, kind, id);
DROP INDEX sessions_idle;
CREATE INDEX sessions_idle ON sessions (bank, kind, last_seen);

ALTER TABLE staff_sessions ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE staff_sessions DROP CONSTRAINT staff_sessions_pkey, ADD PRIMARY KEY (bank, key);

ALTER TABLE businesses ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE businesses DROP CONSTRAINT businesses_pkey, ADD PRIMARY KEY (bank, contract_id);

ALTER TABLE cards ADD COLUMN bank text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE cards DROP CONSTRAINT cards_pkey, ADD PRIMARY KEY (bank, contract_id);
