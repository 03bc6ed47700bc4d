# einvoice: strony tej integracji (zgłoszenie 15).
einv-download-xml = E-faktura (XML, EN 16931)
einv-profile-country = Kraj
einv-profile-country-hint = Dwuliterowy kod ISO kraju adresu, np. PL lub DE. Wymagany w e-fakturach.
einv-profile-vat-id = Numer VAT UE
einv-profile-vat-id-hint = Z prefiksem kraju, np. PL5260250995. Wymagany w e-fakturach.
einv-journal = Eksport księgowy
einv-journal-lead = Dziennik faktur wystawionych w danym okresie, jako CSV dla programu księgowego: należność po stronie Wn w kwocie brutto każdej faktury, przychód i VAT należny po stronie Ma według stawek.
einv-journal-export = Eksport dziennika
einv-journal-from = Od (data wystawienia)
einv-journal-to = Do (data wystawienia)
einv-journal-export-hint = Faktury wystawione i opłacone; szkice i faktury anulowane są pomijane. Eksport zostaje zapisany w dzienniku bezpieczeństwa.
einv-journal-download = Pobierz CSV
einv-journal-accounts = Konta
einv-journal-receivables = Należności (Wn)
einv-journal-vat-payable = VAT należny (Ma)
einv-journal-revenue = Przychody (Ma)
einv-journal-revenue-hint = Dla każdej stawki, która nie ma poniżej własnego konta.
einv-journal-revenue-rate = Przychody według stawki { $rate }
einv-journal-account-hint = Konto ma najwyżej { $max } liter, cyfr, spacji, '.', '-', '/' lub '_'.
einv-journal-save = Zapisz konta
einv-journal-saved =
    { $count ->
        [one] Zapisano konta (zmieniono jedno).
        [few] Zapisano konta (zmieniono { $count }).
       *[other] Zapisano konta (zmieniono { $count }).
    }
event-journal_accounts_changed = Zmieniono konta dziennika księgowego
