-- The instance's tax rates, offered on invoice lines (one is preselected). A line keeps its own
-- copy of the rate (invoice_lines.tax_rate_bp), so changing or removing a rate never changes an
-- invoice. The other money settings (currency, hourly rate, payment terms, locale) are rows of
-- `settings` under `money.`; absent rows mean the built-in defaults.
CREATE TABLE tax_rates (
    id INTEGER PRIMARY KEY,
    position INTEGER NOT NULL,
    name TEXT NOT NULL UNIQUE,
    -- Hundredths of a percent: 2300 = 23 %.
    rate_bp INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1))
) STRICT;
-- At most one default; the domain code keeps exactly one.
CREATE UNIQUE INDEX tax_rates_one_default ON tax_rates(is_default) WHERE is_default = 1;

-- The rates holdfast used to assume (23 % on every line) stay the default; the reduced rates of the
-- first customers' country are offered beside it, and the admin can change all of them.
INSERT INTO tax_rates (position, name, rate_bp, is_default) VALUES
    (1, 'Standard', 2300, 1),
    (2, 'Reduced', 800, 0),
    (3, 'Super-reduced', 500, 0),
    (4, 'Zero', 0, 0);

-- Voiding an issued invoice records why (the status becomes `void`; the number stays taken).
ALTER TABLE invoices ADD COLUMN void_reason TEXT;
