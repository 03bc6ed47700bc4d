# einvoice: the pages of this integration (issue 15).
einv-download-xml = E-invoice (XML, EN 16931)
einv-profile-country = Country
einv-profile-country-hint = Two-letter ISO code of the address, such as PL or DE. E-invoices need it.
einv-profile-vat-id = VAT ID
einv-profile-vat-id-hint = With its country prefix, such as PL5260250995. E-invoices need it.
einv-journal = Accounting export
einv-journal-lead = The journal of the invoices issued in a period, as CSV for your accounting package: the receivable debited with each invoice's total, revenue and VAT payable credited per tax rate.
einv-journal-export = Export the journal
einv-journal-from = From (issue date)
einv-journal-to = To (issue date)
einv-journal-export-hint = Issued and paid invoices; drafts and void invoices are left out. The export is written to the security log.
einv-journal-download = Download CSV
einv-journal-accounts = Accounts
einv-journal-receivables = Receivables (debit)
einv-journal-vat-payable = VAT payable (credit)
einv-journal-revenue = Revenue (credit)
einv-journal-revenue-hint = For every tax rate without an account of its own below.
einv-journal-revenue-rate = Revenue at { $rate }
einv-journal-account-hint = An account has at most { $max } letters, digits, spaces, '.', '-', '/' or '_'.
einv-journal-save = Save accounts
einv-journal-saved =
    { $count ->
        [one] Accounts saved (one changed).
       *[other] Accounts saved ({ $count } changed).
    }
event-journal_accounts_changed = Journal accounts changed
