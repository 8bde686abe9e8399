-- keitai-gateway schema, version 4: 法人 (business) contracts with their users, and お客様カード
-- (sealed under the master key like token seeds) of personal and business contracts.
CREATE TABLE businesses (
    contract_id text COLLATE "C" PRIMARY KEY,
    body        jsonb NOT NULL
);

CREATE TABLE cards (
    contract_id text COLLATE "C" PRIMARY KEY,
    body        jsonb NOT NULL
);
