-- Learning collation's event store: the tables eventsourcing 9.5's PostgreSQL process recorder (events and tracking records)
-- creates when CREATE_TABLE is true. The applications run with CREATE_TABLE=false, so this is the one place
-- they are made. The statements are the library's own for application name "learning", ORIGINATOR_ID_TYPE uuid,
-- SINGLE_ROW_TRACKING true and POSTGRES_LOCK_TIMEOUT 0 (lif/db.py eventsourcing_env);
-- tests/integration/test_migrations.py compares the result with what the library creates itself.
-- IF NOT EXISTS throughout: a database made before migrations existed already has them.
CREATE SCHEMA IF NOT EXISTS lif_learning;

DO $$
BEGIN
    CREATE TYPE "lif_learning"."stored_event_uuid"
        AS (originator_id "uuid", originator_version bigint, topic text, state bytea);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE TABLE IF NOT EXISTS "lif_learning"."learning_events" (
    originator_id "uuid" NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);

CREATE UNIQUE INDEX IF NOT EXISTS "learning_events_notification_id_idx"
    ON "lif_learning"."learning_events" (notification_id ASC);

-- Used only with POSTGRES_ENABLE_DB_FUNCTIONS (which LIF leaves off), but the library always creates it.
CREATE OR REPLACE FUNCTION "lif_learning"."es_insert_events_uuid"(events "lif_learning"."stored_event_uuid"[])
RETURNS SETOF bigint LANGUAGE plpgsql AS
$BODY$BEGIN    SET LOCAL lock_timeout = '0s';    NOTIFY "learning_events";    RETURN QUERY    INSERT INTO "lif_learning"."learning_events" AS t (    originator_id, originator_version, topic, state)    SELECT originator_id, originator_version, topic, state    FROM unnest(events)    RETURNING notification_id;END;$BODY$;

-- Where each consumed stream has got to, written in the same transaction as the events recorded in answer.
CREATE TABLE IF NOT EXISTS "lif_learning"."learning_tracking" (
    application_name text,
    notification_id bigint,
    PRIMARY KEY (application_name)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);

-- The library marks a single-row tracking table this way; without the row it would "migrate" the table
-- from the legacy multi-row shape the first time an application started with CREATE_TABLE=true.
INSERT INTO "lif_learning"."learning_tracking" (application_name, notification_id)
    VALUES ('__migration__', 1) ON CONFLICT (application_name) DO NOTHING;
