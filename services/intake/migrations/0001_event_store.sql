-- Intake's event store: the tables eventsourcing 9.5's PostgreSQL application recorder
-- creates when CREATE_TABLE is true. The applications run with CREATE_TABLE=false, so this is the one place
-- they are made. The statements are the library's own for application name "intake", ORIGINATOR_ID_TYPE uuid,
-- SINGLE_ROW_TRACKING true and POSTGRES_LOCK_TIMEOUT 0 (lif/db.py eventsourcing_env);
-- tests/integration/test_migrations.py compares the result with what the library creates itself.
-- IF NOT EXISTS throughout: a database made before migrations existed already has them.
CREATE SCHEMA IF NOT EXISTS lif_intake;

DO $$
BEGIN
    CREATE TYPE "lif_intake"."stored_event_uuid"
        AS (originator_id "uuid", originator_version bigint, topic text, state bytea);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE TABLE IF NOT EXISTS "lif_intake"."intake_events" (
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

CREATE UNIQUE INDEX IF NOT EXISTS "intake_events_notification_id_idx"
    ON "lif_intake"."intake_events" (notification_id ASC);

-- Used only with POSTGRES_ENABLE_DB_FUNCTIONS (which LIF leaves off), but the library always creates it.
CREATE OR REPLACE FUNCTION "lif_intake"."es_insert_events_uuid"(events "lif_intake"."stored_event_uuid"[])
RETURNS SETOF bigint LANGUAGE plpgsql AS
$BODY$BEGIN    SET LOCAL lock_timeout = '0s';    NOTIFY "intake_events";    RETURN QUERY    INSERT INTO "lif_intake"."intake_events" AS t (    originator_id, originator_version, topic, state)    SELECT originator_id, originator_version, topic, state    FROM unnest(events)    RETURNING notification_id;END;$BODY$;
