-- `attest verify --jdbc` compares each view that it and the reports read with the migrations' own text, deparsed by
-- this server: it creates that text as a temporary view, in a transaction that it always rolls back, and compares the
-- two definitions (docs/evidence.md, "What verify trusts of the database"). The embedded store revokes every database
-- privilege from PUBLIC, TEMPORARY with the rest, so the auditors' login could not. It gets TEMPORARY back, and
-- nothing else: a temporary object lives in its own session only, and is dropped when the session ends. A store
-- whose owner revokes it again is not VALID to verify (the views are unchecked), never silently so.
DO $$ BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO auditor_ro', current_database()); END $$;
