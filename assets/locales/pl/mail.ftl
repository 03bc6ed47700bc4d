# Wiadomości e-mail do osób: powiadomienia o koncie, kody, powiadomienia dla administratorów,
# alerty. Czas podawany jest w strefie czasowej instancji, z jej nazwą.

mail-footer = Jeśli to nie Ty, natychmiast powiadom administratora: może zakończyć wszystkie sesje Twojego konta i je zresetować.
mail-when = { $at } ({ $zone })

mail-new-address-subject = holdfast: logowanie z nowego adresu
mail-new-address-body = Na Twoje konto holdfast „{ $username }” zalogowano się { $at } z adresu { $source }, z którego konto nie było wcześniej używane.

mail-password-changed-subject = holdfast: zmieniono Twoje hasło
mail-password-changed-body = Hasło do Twojego konta holdfast „{ $username }” zostało zmienione { $at } z adresu { $source }. Pozostałe sesje zostały wylogowane.

mail-factor-changed-subject = holdfast: zmieniono Twój drugi składnik
mail-factor-changed-body = Drugi składnik Twojego konta holdfast „{ $username }” to teraz { $method }; zmiana nastąpiła { $at } z adresu { $source }. Pozostałe sesje zostały wylogowane.
mail-factor-totp = aplikacja uwierzytelniająca
mail-factor-email = kody wysyłane e-mailem
mail-factor-none = brak (tylko hasło)

mail-email-changed-subject = holdfast: zmieniono Twój adres e-mail
mail-email-changed-body = Adres e-mail Twojego konta holdfast „{ $username }” został zmieniony z { $old } na { $new } { $at } z adresu { $source }. Pozostałe sesje zostały wylogowane.

mail-factor-reset-subject = holdfast: zresetowano Twój drugi składnik
mail-factor-reset-body = Administrator ({ $admin }) zresetował drugi składnik Twojego konta holdfast „{ $username }” { $at }; wszystkie sesje konta zostały zakończone.
mail-factor-reset-enrol = Przy następnym logowaniu skonfigurujesz drugi składnik od nowa.

mail-enrolled-subject = holdfast: skonfigurowano aplikację uwierzytelniającą
mail-enrolled-body = Konto holdfast „{ $username }” skonfigurowało aplikację uwierzytelniającą jako drugi składnik { $at } z adresu { $source }.
mail-enrolled-admin-subject = holdfast: { $username } skonfigurował(a) aplikację uwierzytelniającą
mail-enrolled-admin-advice = Jeśli się tego nie spodziewasz, zresetuj drugi składnik tego konta (strona Użytkownicy albo `holdfast admin user reset-factor { $username }` na serwerze).

mail-code-minutes =
    { $minutes ->
        [one] 1 minutę
        [few] { $minutes } minuty
       *[many] { $minutes } minut
    }
mail-code-signin-subject = holdfast: kod logowania
mail-code-signin = Twój kod logowania do holdfast: { $code }
mail-code-signin-valid = Kod jest ważny przez { $duration } i tylko dla logowania, które właśnie rozpoczęto z adresu { $source }. Jeśli to nie Ty, powiadom administratora.
mail-code-setup-subject = holdfast: kod do konfiguracji drugiego składnika
mail-code-setup = Twój kod konfiguracji w holdfast: { $code }
mail-code-setup-valid = Kod jest ważny przez { $duration } i służy tylko do potwierdzenia, że to Ty, zanim skonfigurujesz aplikację uwierzytelniającą w logowaniu rozpoczętym właśnie z adresu { $source }. Jeśli to nie Ty, powiadom administratora.
mail-code-confirm-subject = holdfast: kod potwierdzający
mail-code-confirm = Twój kod potwierdzający w holdfast: { $code }
mail-code-confirm-valid = Kod jest ważny przez { $duration } i służy tylko do potwierdzenia zmiany na Twoim koncie w sesji używanej z adresu { $source }. Jeśli to nie Ty, powiadom administratora.

mail-locked-subject = holdfast: zablokowano konto { $username }
mail-locked-body = Konto „{ $username }” zostało zablokowane { $at } po { $attempts } nieudanych próbach logowania (ostatnia z adresu { $source }).
mail-locked-advice = Pozostanie zablokowane, dopóki administrator go nie odblokuje (strona Użytkownicy albo `holdfast admin user unlock { $username }` na serwerze).
mail-unlocked-subject = holdfast: odblokowano konto { $username }
mail-unlocked-body = Konto „{ $username }” zostało odblokowane przez: { $by }, { $at }.
mail-unlocked-console = konsola serwera
mail-unlocked-advice = Jeśli się tego nie spodziewasz, przejrzyj dziennik bezpieczeństwa.

mail-alert-subject = alert holdfast ({ $severity }): { $rule } [{ $code }]
mail-alert-rule = Reguła: { $rule }
mail-alert-severity = Waga: { $severity }
mail-alert-about = Dotyczy: { $subject }
mail-alert-first-seen = Pierwsze wystąpienie: { $at }
mail-alert-advice = Otwórz Administracja → Alerty, aby go potwierdzić lub zamknąć; dziennik bezpieczeństwa pokazuje zdarzenia, które go wywołały.
mail-digest-subject = holdfast: podsumowanie alertów: { $count }
mail-digest-intro =
    { $count ->
        [one] Od ostatniego podsumowania zgłoszono 1 alert:
        [few] Od ostatniego podsumowania zgłoszono { $count } alerty:
       *[many] Od ostatniego podsumowania zgłoszono { $count } alertów:
    }
mail-digest-line = - [{ $severity }] { $rule } ({ $subject }): { $summary } — pierwsze wystąpienie { $at }, liczba wystąpień: { $times }, stan: { $state }
mail-digest-advice = Otwórz Administracja → Alerty, aby je potwierdzić lub zamknąć.

mail-test-subject = holdfast: wiadomość testowa
mail-test-body = To jest wiadomość testowa z holdfast. Jeśli ją czytasz, poczta z holdfast do ciebie dociera.
mail-backup-problem-subject = holdfast: problem z kopią zapasową
mail-backup-problem-intro = Kopia zapasowa holdfast nie została wykonana we wszystkich miejscach:
mail-backup-problem-advice = Sprawdź miejsca docelowe i uruchom na serwerze `holdfast backup run --all`.
