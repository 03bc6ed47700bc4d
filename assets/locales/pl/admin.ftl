# Strony administracji.

admin-people = Ludzie
admin-groups = Grupy i uprawnienia
admin-security = Bezpieczeństwo
admin-policy = Zasady haseł i sesji
admin-integrations = Integracje
admin-tokens-link = Tokeny API połączonych usług
admin-backups = Kopie zapasowe
admin-backups-link = Miejsca docelowe, ostatnie przebiegi, sprawdzone odtworzenia
admin-updates = Aktualizacje
admin-updates-link = Zainstalowana wersja, sprawdzenie pakietu, historia aktualizacji
admin-money = Finanse
admin-money-link = Waluta, stawki VAT, stawka godzinowa, termin płatności, język domyślny
admin-profile-link = Profil faktury: dane sprzedawcy na fakturach
admin-mail = Poczta
admin-mail-link = Skrzynka nadawcza i wiadomość testowa
mail-state-on = wysyłka przez { $host }:{ $port } ({ $tls })
mail-state-off = wyłączona: brak sekcji [mail] w konfiguracji, więc kody e-mailowe i powiadomienia są niedostępne
nothing-changed = Nic się nie zmieniło.
saved-settings =
    { $count ->
        [0] Nic się nie zmieniło.
        [one] Zapisano jedno ustawienie.
        [few] Zapisano { $count } ustawienia.
       *[other] Zapisano { $count } ustawień.
    }

asvs-short-passwords = OWASP ASVS 5.0 (V6.2) wymaga haseł o długości co najmniej 8 znaków i zdecydowanie zaleca minimum 15.
asvs-composition = Reguły złożoności (wymagane klasy znaków) są odradzane przez OWASP ASVS 5.0 (V6.2): skłaniają do przewidywalnych haseł.
asvs-periodic = Wymuszona okresowa zmiana hasła jest odradzana przez OWASP ASVS 5.0 (V6.2, poziom 2): hasło powinno być ważne, dopóki nie wiadomo, że wyciekło, albo użytkownik go nie zmieni.
asvs-factor-off = Drugi składnik jest wyłączony: OWASP ASVS 5.0 (V6.3) wymaga uwierzytelniania wieloskładnikowego od poziomu 2, więc to ustawienie spełnia tylko poziom 1.
asvs-factor-optional = Drugi składnik jest opcjonalny: OWASP ASVS 5.0 (V6.3) wymaga uwierzytelniania wieloskładnikowego każdego użytkownika od poziomu 2; użytkownicy bez drugiego składnika są tylko na poziomie 1.
asvs-email-factor = Przy `required` kod wysłany e-mailem liczy się jako drugi składnik, ale OWASP ASVS 5.0 nie uznaje poczty e-mail za mechanizm uwierzytelniania (V6.6 nazywa ją niebezpieczną; poziom 3 jej zabrania); `required_totp` tego unika.

## Użytkownicy

users-user = Użytkownik
users-state = Stan
users-actions = Działania
users-unlock = Odblokuj
users-reset-password = Zresetuj hasło
users-reset-password-confirm = Nadać użytkownikowi { $name } nowe hasło tymczasowe i go wylogować?
users-sign-out = Wyloguj wszędzie
users-reset-factor = Zresetuj drugi składnik
users-reset-factor-confirm = Usunąć drugi składnik użytkownika { $name }? Przy następnym logowaniu musi skonfigurować go ponownie.
users-enrolment-code = Kod rejestracyjny
users-enable = Włącz
users-disable = Wyłącz
users-disable-confirm = Wyłączyć użytkownika { $name }? Natychmiast straci dostęp.
users-close-support = Zamknij dostęp serwisowy
users-all-sessions = Wszystkie sesje
users-all-sessions-hint = Wyloguj od razu wszystkie osoby tej instancji (np. po podejrzeniu włamania). Twoja sesja też się zakończy.
users-sign-out-everyone = Wyloguj wszystkich
users-sign-out-everyone-confirm = Wylogować wszystkich, łącznie z Tobą?
users-add = Dodaj użytkownika
users-add-hint = holdfast tworzy jednorazowe hasło tymczasowe, pokazane tu tylko raz; użytkownik musi je zmienić przy pierwszym logowaniu.
users-add-button = Dodaj użytkownika
user-locked = zablokowany
user-disabled = wyłączony
user-support-until = dostęp serwisowy do { $until }
user-must-change = musi zmienić hasło
user-active = aktywny
user-created = Utworzono użytkownika { $name }.
user-created-password = Utworzono użytkownika { $name }. Hasło tymczasowe (pokazane tylko teraz; musi je zmienić przy pierwszym logowaniu): { $password }
user-unlocked = Odblokowano użytkownika { $name }.
user-new-password = Nowe hasło tymczasowe użytkownika { $name } (pokazane tylko teraz): { $password }
user-disabled-done = Użytkownik { $name } wyłączony i wylogowany.
user-enabled = Użytkownik { $name } włączony.
user-sessions-ended =
    { $count ->
        [0] Użytkownik { $name } nie miał sesji do zakończenia.
        [one] Zakończono jedną sesję użytkownika { $name }.
        [few] Zakończono { $count } sesje użytkownika { $name }.
       *[other] Zakończono { $count } sesji użytkownika { $name }.
    }
user-support-closed = Zamknięto dostęp serwisowy użytkownika { $name }.
user-factor-reset = Usunięto drugi składnik użytkownika { $name } i zakończono jego sesje; przy następnym logowaniu skonfiguruje go ponownie.
user-enrolment-code = Kod rejestracyjny dla { $name } (pokazany tylko teraz; przekaż go osobiście): { $code }
user-groups-saved = Zapisano grupy użytkownika { $name }.

## Zasady

policy-always-on = Zawsze włączone: 10 000 najpopularniejszych haseł oraz nazwa lub e-mail użytkownika są odrzucane.
policy-save = Zapisz zasady
policy-notice = Komunikat przed logowaniem
policy-notice-label = Wyświetlany na stronie logowania wszystkim przed zalogowaniem (np.: tylko do użytku uprawnionego, działania są rejestrowane). Puste = brak komunikatu.
policy-notice-save = Zapisz komunikat
policy-notice-saved = Zapisano komunikat.
policy-password_min_length = Minimalna długość hasła
policy-password_min_length-help = 8–128 znaków; hasła do 256 znaków są zawsze przyjmowane.
policy-password_require_classes = Wymagane klasy znaków
policy-password_require_classes-help = 0–4 spośród: małe litery, wielkie litery, cyfry, symbole.
policy-password_history = Historia haseł
policy-password_history-help = 0–24: ilu poprzednich haseł nie można użyć ponownie.
policy-password_max_age_days = Ważność hasła (dni)
policy-password_max_age_days-help = 0 = bezterminowo; w przeciwnym razie po tylu dniach hasło trzeba zmienić przy logowaniu.
policy-lockout_threshold = Próg blokady
policy-lockout_threshold-help = 1–100 kolejnych niepowodzeń blokuje konto, dopóki administrator go nie odblokuje.
policy-second_factor = Drugi składnik
policy-second_factor-help = off, optional, required (kod e-mailem lub aplikacja), required_totp (tylko aplikacja).
policy-session_idle_minutes = Limit bezczynności (minuty)
policy-session_idle_minutes-help = 5–1440.
policy-session_absolute_hours = Bezwzględny limit sesji (godziny)
policy-session_absolute_hours-help = 1–168.
policy-temporary_password_hours = Hasła tymczasowe wygasają po (godzinach)
policy-temporary_password_hours-help = 1–720: hasło ustawione przez administratora lub konsolę trzeba zmienić w tym czasie, inaczej przestaje działać.
policy-token_max_days = Najdłuższy czas życia tokenu API (dni)
policy-token_max_days-help = 1–3650: żaden token nie może żyć dłużej.
policy-inactive_disable_days = Wyłącz nieużywane konta po (dniach)
policy-inactive_disable_days-help = 0 = nigdy; w przeciwnym razie konto bez logowania przez tyle dni zostaje wyłączone (poza kontami serwisowymi).

## Poczta

mail-test-to = Wyślij wiadomość testową do
mail-test-send = Wyślij wiadomość testową
mail-test-queued = Wiadomość testowa do { $to } czeka w kolejce; jej stan widać poniżej.
mail-recent = Ostatnie wiadomości
mail-queued = W kolejce od
mail-to = Do
mail-subject = Temat
mail-attempts = Próby
mail-last-error = Ostatni błąd
mail-sent = wysłana
mail-failed = nieudana
mail-waiting = oczekuje

## Tokeny API

tokens = Tokeny API
tokens-heading = Połączone usługi (tokeny API)
tokens-service = Usługa
tokens-scopes = Zakresy
tokens-owner = Właściciel
tokens-networks = Sieci
tokens-created = Utworzono
tokens-expires = Wygasa
tokens-owner-blocked = właściciel wyłączony lub zablokowany: token odrzucany
tokens-console = konsola
tokens-any = dowolne
tokens-never = nigdy
tokens-revoked = cofnięty
tokens-revoke = Cofnij
tokens-revoke-confirm = Cofnąć ten token? Usługa natychmiast straci dostęp.
tokens-register = Zarejestruj usługę
tokens-service-name = Nazwa usługi
tokens-scopes-hint = moduł:read = podgląd i eksport; moduł:write = tworzenie, edycja, usuwanie i import; albo pojedyncze moduł:działanie. Moduły: clients, contacts, projects, tasks, time, invoices, documents.
tokens-expires-label = Wygasa po (dniach; puste = najdłużej, ile pozwalają zasady, { $max })
tokens-networks-label = Do użytku tylko z (sieci, np. 10.20.0.0/16; puste = dowolny adres)
tokens-acts-for-you = Token działa w Twoim imieniu: przestaje działać, jeśli Twoje konto zostanie wyłączone lub zablokowane.
tokens-create = Utwórz token
token-days-invalid = expires_days: liczba całkowita dni albo puste pole dla najdłuższego okresu dozwolonego przez zasady
token-created = Utworzono token #{ $id }. Skopiuj go teraz, nie zostanie pokazany ponownie: { $token }
token-revoked = Cofnięto token #{ $id }.

## Kopie zapasowe i aktualizacje

backups-schedule = Codziennie o { $time } (czas lokalny serwera) do każdego miejsca docelowego; potem najnowsze archiwum każdego miejsca jest odtwarzane w obszarze roboczym i sprawdzane.
backups-exported = Kod odzyskiwania wyeksportowano:
backups-not-exported = jeszcze nie — uruchom `holdfast backup export-key` na serwerze
backups-run = Wykonaj kopię teraz
backups-verify = Sprawdź najnowszą teraz
backups-last-success = Ostatni sukces
backups-size = Rozmiar
backups-last-verified = Ostatnie sprawdzone odtworzenie
backups-last-problem = Ostatni problem
backups-verified-took = { $at }, trwało { $seconds } s
backups-made-scheduled = zaplanowana
backups-made-hand = wykonana ręcznie, zachowana do ręcznego usunięcia
backups-made-update = wykonana przed aktualizacją, zachowana do ręcznego usunięcia
updates-verified-bundle = Sprawdzony pakiet
updates-installed = Zainstalowana wersja
updates-binary = Kompilacja programu
updates-epoch = Epoka bezpieczeństwa
updates-keys = Zaufane klucze wydań
updates-threshold = wymagane podpisy: { $n }
updates-last = Ostatnia aktualizacja
updates-none-rollback = brak takiej, którą można wycofać
updates-check = Sprawdź pakiet
updates-check-hint = Pakiet jest tu sprawdzany (podpisy, wersje, termin ważności, każdy bajt zawartości), a potem usuwany; nic nie zostaje zainstalowane. Aktualizacje instaluje się na serwerze poleceniem `holdfast update apply` (docs/updating.md). Do { $mib } MiB.
updates-bundle-file = Plik pakietu (.hfu)
updates-verify = Sprawdź
updates-no-history = Żadna aktualizacja nie była jeszcze sprawdzana ani instalowana.
updates-when = Kiedy
updates-version = Wersja
updates-outcome = Wynik
updates-detail = Szczegóły

## Ustawienia finansowe i profil faktury

money-heading = Finanse: waluta, stawki VAT, stawki, terminy i język
money-currency = Waluta nowych faktur i projektów
money-currency-hint = Proponowana w formularzach; każda faktura zachowuje walutę, w której ją utworzono.
money-hourly-rate = Domyślna stawka godzinowa
money-hourly-rate-hint = W walucie, zapisana jak { $example }; proponowana dla nowych projektów.
money-terms = Termin płatności
money-terms-days = Termin płatności (dni)
money-terms-hint = 0–365: faktura wystawiona bez terminu płatności jest płatna tyle dni po dacie wystawienia.
money-terms-invalid = wpisz liczbę całkowitą dni od 0 do { $max }
money-locale = Język domyślny
money-locale-hint = Język stron dla osób, które nie wybrały własnego, oraz faktur: angielski zapisuje 1,234.50, polski 1 234,50.
money-locale-invalid = wybierz jeden z oferowanych języków
money-tax-rates = Stawki VAT
money-tax-rates-hint = Oferowane przy każdej pozycji faktury; domyślna jest zaznaczona. Wyczyść nazwę i stawkę w wierszu, aby go usunąć. Pozycje już na fakturach zachowują swoją stawkę.
money-default-rate = Domyślna stawka VAT
money-default-rate-empty = domyślna stawka wymaga nazwy i wartości
money-rate-needs-name = wiersz { $row } wymaga nazwy
money-rate-invalid = Stawka { $name }: { $problem } (procent od 0 do 100, np. { $example })
money-rate-name = Nazwa
money-rate-percent = Stawka (%)
money-rate-default = Domyślna
money-rate-name-n = Nazwa stawki VAT { $n }
money-rate-percent-n = Wartość stawki VAT { $n } w procentach
money-rate-default-n = Stawka VAT { $n } jest domyślna
money-settings = Ustawienia
money-save = Zapisz ustawienia finansowe
profile = Profil faktury
profile-lead = Dane sprzedawcy drukowane na każdym dokumencie faktury i w PDF. Faktura zachowuje dane, z którymi ją wystawiono; zmiana tutaj dotyczy faktur wystawianych od teraz (i szkiców).
profile-legal-name = Pełna nazwa
profile-legal-name-hint = Zgodnie z rejestrem, 1–{ $max } znaków.
profile-address = Adres
profile-address-hint = Do { $lines } wierszy, każdy najwyżej { $chars } znaków.
profile-tax-id = NIP
profile-tax-id-hint = Numer VAT lub identyfikacji podatkowej, najwyżej { $max } znaków.
profile-bank = Rachunek bankowy
profile-bank-hint = IBAN (sprawdzane są jego cyfry kontrolne) lub krajowy numer rachunku. Drukowany na każdej fakturze jako miejsce zapłaty: zmiany są zapisywane w dzienniku bezpieczeństwa.
profile-payment = Dane płatności
profile-payment-hint = Nazwa banku, SWIFT/BIC, warunki płatności; najwyżej { $max } znaków.
profile-save = Zapisz profil faktury
profile-saved =
    { $count ->
        [one] Zapisano profil faktury (zmieniono jedno pole).
        [few] Zapisano profil faktury (zmieniono { $count } pola).
       *[other] Zapisano profil faktury (zmieniono { $count } pól).
    }

## Dziennik bezpieczeństwa: nazwy zdarzeń i strona wokół nich

event-login_succeeded = Zalogowano
event-login_failed = Nieudane logowanie
event-account_locked = Konto zablokowane
event-account_unlocked = Konto odblokowane
event-second_factor_sent = Wysłano kod logowania
event-second_factor_failed = Błędny drugi składnik
event-second_factor_enrolled = Skonfigurowano drugi składnik
event-recovery_code_used = Użyto kodu odzyskiwania
event-password_changed = Zmieniono hasło
event-password_reset = Zresetowano hasło
event-session_revoked = Zakończono sesję
event-signed_out = Wylogowano
event-user_created = Utworzono użytkownika
event-user_disabled = Wyłączono użytkownika
event-user_enabled = Włączono użytkownika
event-group_changed = Zmieniono grupę
event-permission_changed = Zmieniono uprawnienia
event-policy_changed = Zmieniono zasady bezpieczeństwa
event-support_granted = Przyznano dostęp serwisowy
event-support_revoked = Zamknięto dostęp serwisowy
event-setup_link_issued = Wystawiono link konfiguracyjny
event-setup_completed = Zakończono konfigurację
event-mail_test_sent = Wysłano testowy e-mail
event-audit_exported = Wyeksportowano dziennik bezpieczeństwa
event-record_created = Utworzono rekord
event-record_updated = Zmieniono rekord
event-record_deleted = Usunięto rekord
event-record_restored = Przywrócono rekord
event-data_exported = Wyeksportowano dane
event-data_imported = Zaimportowano dane
event-invoice_issued = Wystawiono fakturę
event-token_created = Utworzono token API
event-token_revoked = Cofnięto token API
event-token_used = Użyto tokenu API
event-update_verified = Sprawdzono aktualizację
event-update_refused = Odrzucono aktualizację
event-backup_completed = Wykonano kopię zapasową
event-backup_verified = Sprawdzono kopię zapasową
event-backup_restored = Odtworzono kopię zapasową
event-backup_key_exported = Wyeksportowano klucz kopii
event-update_extracted = Rozpakowano aktualizację
event-update_applied = Zainstalowano aktualizację
event-update_failed = Aktualizacja nieudana
event-update_rolled_back = Wycofano aktualizację
event-enrolment_verified = Potwierdzono rejestrację
event-enrolment_code_issued = Wystawiono kod rejestracyjny
event-second_factor_reset = Usunięto drugi składnik
event-email_changed = Zmieniono adres e-mail
event-signin_notice_changed = Zmieniono komunikat logowania
event-comment_added = Dodano komentarz
event-invoice_line_added = Dodano pozycję faktury
event-invoice_line_removed = Usunięto pozycję faktury
event-time_billed = Rozliczono czas
event-settings_changed = Zmieniono ustawienia finansowe
event-invoice_voided = Unieważniono fakturę
event-invoice_profile_changed = Zmieniono profil faktury
event-alert_raised = Zgłoszono alert
event-alert_acknowledged = Potwierdzono alert
event-alert_closed = Zamknięto alert
event-alert_rules_changed = Zmieniono reguły alertów
event-access_refused = Odrzucone żądania
log-chain-intact =
    { $count ->
        [one] Łańcuch skrótów sprawdzony: 1 wpis, nic nie zmieniono ani nie usunięto.
        [few] Łańcuch skrótów sprawdzony: { $count } wpisy, nic nie zmieniono ani nie usunięto.
       *[other] Łańcuch skrótów sprawdzony: { $count } wpisów, nic nie zmieniono ani nie usunięto.
    }
log-chain-broken = UWAGA: łańcuch skrótów jest przerwany na wpisie { $id }: { $reason }.
log-from = Od (UTC)
log-to = Do (UTC)
log-event = Zdarzenie
log-any = dowolne
log-user = Użytkownik
log-address = Adres
log-filter = Filtruj
log-export-csv = Eksportuj CSV
log-export-json = Eksportuj JSON
log-entries = Wpisy dziennika bezpieczeństwa
log-time = Czas
log-outcome = Wynik
log-actor = Wykonawca
log-target = Obiekt
log-details = Szczegóły
log-success = sukces
log-failure = porażka
log-support = serwis
log-none-match = Żaden wpis nie pasuje do tych filtrów.
log-older = Starsze wpisy
log-none = brak

## Grupy

groups-builtin = wbudowana
groups-members = członkowie:
groups-admin = administruje tą instancją (obejmuje wszystko)
groups-admin-implies = Każde uprawnienie modułu poniżej jest zawarte w admin.
groups-permissions-of = Uprawnienia grupy { $group }
groups-module = Moduł
groups-save = Zapisz uprawnienia grupy { $group }
groups-delete = Usuń grupę
groups-delete-confirm = Usunąć grupę { $group }?
groups-new = Nowa grupa
groups-name = Nazwa
groups-description = Opis
groups-create = Utwórz grupę
groups-created = Utworzono grupę { $group }.
groups-saved = Zapisano uprawnienia grupy { $group }.
groups-deleted = Usunięto grupę { $group }.

## Alerty

alerts = Alerty
alerts-link = Alerty i ich reguły
alerts-link-hint = co zgłosił nadzór nad dziennikiem bezpieczeństwa
alerts-open-badge =
    { $count ->
        [one] 1 otwarty alert
        [few] { $count } otwarte alerty
       *[other] { $count } otwartych alertów
    }
alerts-intro = holdfast nadzoruje dziennik bezpieczeństwa na bieżąco i zgłasza alert, gdy reguła się dopasuje. Powtórzenia dołączają do alertu, dopóki nie zostanie zamknięty.
alerts-none = Brak alertów.
alerts-subject = Dotyczy: { $subject } · wystąpień: { $count }
alerts-first = pierwsze
alerts-last = ostatnie
alerts-show-events = Pokaż zdarzenia w dzienniku bezpieczeństwa
alerts-rows = wpisy
alerts-note = Notatka
alerts-ack = Potwierdź
alerts-close = Zamknij
alerts-rules = Reguły
alerts-save-rules = Zapisz reguły
alert-rules-saved = Zapisano reguły alertów.
alert-now = Alert { $id } ma teraz stan: { $state }.
alert-rule-password_spraying = Rozpylanie haseł
alert-rule-lockout_wave = Fala blokad kont
alert-rule-admin_new_address = Administrator z nowego adresu
alert-rule-support_activity = Konto serwisowe w użyciu
alert-rule-admin_granted = Nowy administrator
alert-rule-permission_granted = Grupa zyskała uprawnienie
alert-rule-policy_weakened = Osłabiono zasady bezpieczeństwa
alert-rule-token_created = Utworzono token API
alert-rule-token_new_address = Token API użyty z nowego adresu
alert-rule-mass_export = Masowy eksport
alert-rule-backup_failed = Nieudana kopia lub próbne odtworzenie
alert-rule-backup_stale = Brak świeżej kopii zapasowej
alert-rule-log_chain_broken = Przerwany łańcuch dziennika bezpieczeństwa
alert-rule-certificate_expiry = Certyfikat wkrótce wygaśnie
alert-rule-disk_low = Mało wolnego miejsca na dysku
alert-rule-webhook_failing = Webhook nie odbiera zdarzeń
alert-severity-low = niski
alert-severity-medium = średni
alert-severity-high = wysoki
alert-severity-critical = krytyczny
alert-state-open = otwarty
alert-state-acknowledged = potwierdzony
alert-state-closed = zamknięty
alert-threshold-spray_accounts = Rozpylanie: kont z jednego adresu
alert-threshold-spray_addresses = Rozpylanie: adresów na jedno konto
alert-threshold-spray_window_seconds = Okno rozpylania (sekundy)
alert-threshold-lockout_accounts = Fala blokad: zablokowanych kont
alert-threshold-lockout_window_seconds = Okno fali blokad (sekundy)
alert-threshold-admin_address_days = Pamięć adresów administratorów (dni)
alert-threshold-export_rows = Masowy eksport: wierszy na osobę na godzinę
alert-threshold-backup_max_age_hours = Kopia starsza niż (godziny)
alert-threshold-certificate_days = Certyfikat wygasa w ciągu (dni)
alert-invalid-no-note = Potwierdzenie alertu wymaga notatki (co sprawdzono, kto działa).
alert-invalid-note-long = Notatka jest dłuższa niż { $max } znaków.
alert-invalid-closed = Alert { $id } jest już zamknięty.
alert-invalid-not-number = { $setting }: „{ $value }” nie jest liczbą.
alert-invalid-range = { $setting }: { $value } jest poza dozwolonym zakresem { $min }–{ $max }.
alert-invalid-unknown = „{ $name }” nie jest progiem alertu.
updates-no-keys = brak użytecznych: { $reason }
updates-interrupted = Aktualizacja { $from } → { $to } zatrzymała się na kroku „{ $step }”. Uruchom na serwerze `holdfast update recover`.
updates-bundle-ok = Pakiet poprawny: podpisy, wersje, termin ważności i każdy bajt zawartości się zgadzają. Zainstaluj go na serwerze poleceniem `holdfast update apply`.
updates-bundle-refused = Pakiet odrzucony: { $reason }
updates-report-version = { $product } { $arch } wersja { $version } (aktualizuje od wersji { $from }), epoka bezpieczeństwa { $epoch }
updates-report-dates = utworzony { $created }, ważny do { $expires }
updates-report-payload = zawartość { $path } ({ $bytes } bajtów, SHA-256 { $sha256 })
updates-report-signed = podpisany przez { $keys }
updates-report-notes = informacje o wydaniu: { $notes }
alert-invalid-not-saved = Nie udało się zapisać progów; nic nie zmieniono.
