-- keitai-gateway schema, version 6: rows of a bulk import staged before they are published
-- (`customers import` on this engine, src/store/host_import.rs). Nothing but the import reads
-- them: a row counts only once the import's marker (meta `host_import_applying/BANK`) is
-- committed, and each applied batch deletes its rows in the transaction that applies them.
-- Rows of an import cut short before publishing are deleted by the next import of the bank,
-- or by the next gateway that opens it.

CREATE SEQUENCE import_ids;

CREATE TABLE staged (
    bank   text COLLATE "C" NOT NULL,
    import bigint NOT NULL,
    key    text COLLATE "C" NOT NULL,
    line   bigint NOT NULL,
    body   jsonb NOT NULL,
    PRIMARY KEY (bank, import, key)
);
