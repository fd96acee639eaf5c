-- The gateway checks the read path of the auditors' reports as `attest verify --jdbc` does (ReadPathWatch,
-- docs/evidence.md "What verify trusts of the database"): it creates each view's migration text as a temporary view,
-- in a transaction that it always rolls back, and compares the two definitions. The embedded store revokes every
-- database privilege from PUBLIC, TEMPORARY with the rest, so the application role could not, and the reports would
-- be withheld (503 read_path_unchecked). It gets TEMPORARY, and nothing else: a temporary object lives in its own
-- session only. A store whose owner revokes it again withholds the reports, never serves them unchecked.
DO $$ BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO attest_app', current_database()); END $$;
