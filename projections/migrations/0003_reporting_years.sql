-- When each board's reporting year starts (rules.md section 8: 1 April unless the board says otherwise).
-- A setting, not a projection: `lif projections rebuild` leaves it alone. Every change is a new version, so
-- a report can say which setting it was made under and who changed it when.
CREATE TABLE IF NOT EXISTS lif_projections.reporting_year_settings (
    lscb text NOT NULL,
    version integer NOT NULL CHECK (version >= 1),
    start_month integer NOT NULL CHECK (start_month BETWEEN 1 AND 12),
    set_by text NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lscb, version)
);
