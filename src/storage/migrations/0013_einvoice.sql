-- E-invoices and the accounting journal (issue 15): what EN 16931 needs of the seller beyond the
-- printed invoice profile (the country of the address, the VAT identifier), and the accounts an
-- administrator maps the journal's postings to.

ALTER TABLE invoice_profile ADD COLUMN country_code TEXT NOT NULL DEFAULT '';
ALTER TABLE invoice_profile ADD COLUMN vat_id TEXT NOT NULL DEFAULT '';

-- One row per role: 'receivables', 'vat_payable', 'revenue' (any rate without its own account)
-- and 'revenue:<basis points>' for a rate of its own.
CREATE TABLE journal_accounts (
    role TEXT PRIMARY KEY,
    account TEXT NOT NULL
) STRICT;
