-- The invoice a client receives (issue 13): the seller's details an administrator keeps once per
-- instance, and the seller and buyer as they stood when an invoice was issued, so that a later
-- change of the profile or of the client record never rewrites an invoice already sent.

CREATE TABLE invoice_profile (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    legal_name TEXT NOT NULL,
    -- Up to four lines, separated by "\n".
    address TEXT NOT NULL,
    tax_id TEXT NOT NULL,
    bank_account TEXT NOT NULL,
    payment_details TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE invoice_parties (
    invoice_id INTEGER PRIMARY KEY REFERENCES invoices(id) ON DELETE CASCADE,
    -- JSON objects written by hub::invoice_document at issue time.
    seller TEXT NOT NULL,
    buyer TEXT NOT NULL,
    frozen_at TEXT NOT NULL
) STRICT;
