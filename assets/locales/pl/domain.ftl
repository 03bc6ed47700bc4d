# Zdania, którymi dziedzina opisuje odmowę: zasady haseł, zmiany kont, import CSV.

password-too-short =
    { $min ->
        [one] Użyj co najmniej 1 znaku.
       *[other] Użyj co najmniej { $min } znaków.
    }
password-too-long =
    { $max ->
        [one] Użyj najwyżej 1 znaku.
       *[other] Użyj najwyżej { $max } znaków.
    }
password-missing-classes = Użyj co najmniej { $required } z tych rodzajów znaków: małe litery, wielkie litery, cyfry oraz symbole lub inne znaki (to hasło ma ich { $found }).
password-common = To jedno z najczęściej używanych haseł i łatwo je odgadnąć; wybierz inne.
password-contains-username = Hasło nie może zawierać Twojej nazwy użytkownika.
password-contains-email = Hasło nie może zawierać części nazwy z Twojego adresu e-mail.
password-reused =
    { $count ->
        [one] To hasło było niedawno używane; zasady nie pozwalają użyć ponownie ostatniego hasła.
        [few] To hasło było niedawno używane; zasady nie pozwalają użyć ponownie ostatnich { $count } haseł.
       *[many] To hasło było niedawno używane; zasady nie pozwalają użyć ponownie ostatnich { $count } haseł.
    }

account-error-not-found = Nie ma użytkownika o nazwie { $name }.
account-error-exists = Użytkownik o nazwie { $name } już istnieje.
account-error-wrong-password = Obecne hasło jest nieprawidłowe.
account-error-last-admin = Instancja zostałaby bez aktywnego administratora.

csv-not-utf8 = plik nie jest zapisany w UTF-8 (bajt { $byte })
csv-unreadable-header = nie można odczytać wiersza nagłówka: { $detail }
csv-too-many-columns = liczba kolumn w nagłówku: { $have }; pliki tego modułu mają ich najwyżej { $max }
csv-unknown-column = nieznana kolumna
csv-column-twice = kolumna występuje dwa razy
csv-missing-column = brakuje wymaganej kolumny
csv-malformed = błędny format CSV: { $detail }
csv-not-positive-id = musi być dodatnią liczbą całkowitą
csv-too-many-rows = najwyżej 100 000 wierszy w jednym imporcie
csv-id-exists = rekord o id { $id } już istnieje

# Etykiety szczegółów zdarzeń w dzienniku bezpieczeństwa.
log-detail-reason = Powód
log-detail-attempt = Próba
log-detail-attempts = Próby
log-detail-failed_attempts = Nieudane próby
log-detail-was_locked = Było zablokowane
log-detail-method = Metoda
log-detail-purpose = Cel
log-detail-new_address = Nowy adres
log-detail-second_factor = Drugi składnik
log-detail-sessions_revoked = Zakończone sesje
log-detail-other_sessions_revoked = Zakończone inne sesje
log-detail-must_enrol = Musi skonfigurować drugi składnik
log-detail-expires_at = Wygasa
log-detail-from = Przed zmianą
log-detail-to = Po zmianie
log-detail-rows = Wiersze
log-detail-fields = Pola
log-detail-kept = Zachowane
log-detail-rule = Reguła
log-detail-severity = Waga
log-detail-subject = Dotyczy
log-detail-summary = Podsumowanie
log-detail-events = Zdarzenia
log-detail-count = Liczba
log-detail-filename = Nazwa pliku
log-detail-version = Wersja
log-detail-size = Rozmiar
log-detail-scopes = Zakresy
log-detail-module = Moduł
log-detail-comment = Komentarz
log-detail-url = Adres (URL)
log-detail-number = Numer
log-detail-seconds = Sekundy
log-detail-token_id = Token
log-detail-feed_id = Kanał
log-detail-checkpoint = Punkt kontrolny
log-detail-destinations = Miejsca docelowe

# Zdarzenia kanału kalendarza (SUMMARY, DESCRIPTION i CATEGORIES w iCalendar), w języku właściciela kanału.
feed-project = Projekt: { $name }
feed-client = Klient: { $name }
feed-status = Status: { $status }
feed-priority = Priorytet: { $priority }
feed-deadline = Termin projektu: { $title }
feed-time = { $spent } – { $project }
feed-category-task = Zadanie
feed-category-deadline = Termin projektu
feed-category-time = Czas pracy

# Zmiany odrzucone ze względu na stan danych (409).
conflict-issued-invoice = Wystawionej faktury nie można zmienić; unieważnij ją i wystaw nową.
conflict-billed-time = Ten wpis czasu jest rozliczony na fakturze i nie można go zmienić.
conflict-still-referenced = Nie można usunąć tego rekordu ({ $what }): inne rekordy wciąż się do niego odwołują. Najpierw je usuń lub przenieś.
conflict-changed-elsewhere = Ktoś inny zmienił ten rekord ({ $what }) (aktualna wersja: { $current }, edytowano wersję { $edited }). Odśwież stronę i spróbuj ponownie.

# Co mówi alert (strona administratora, wiadomości o alertach, zestawienie).
alert-says-support-signin = Konto serwisowe „{ $who }” zalogowało się z adresu { $address }.
alert-says-support-action = Konto serwisowe „{ $who }”: { $event } — { $target } (z adresu { $address }).
alert-says-spray-accounts = Nieudane logowania do co najmniej { $accounts } kont z adresu { $address } w ciągu { $seconds } s.
alert-says-spray-addresses = Nieudane logowania do konta „{ $account }” z co najmniej { $addresses } adresów w ciągu { $seconds } s.
alert-says-lockout-wave = Co najmniej { $count } kont zablokowanych w ciągu { $seconds } s.
alert-says-admin-new-address = Administrator „{ $who }” zalogował się z adresu { $address }, z którego nie logował się od { $days } dni.
alert-says-admin-created = Nowy administrator „{ $who }”, utworzony przez { $by }.
alert-says-admin-joined = „{ $who }” został administratorem (dodany do grup: { $groups }) przez { $by }.
alert-says-group-gained = Grupa „{ $group }” otrzymała uprawnienia: { $permissions } (zmienił: { $by }).
alert-says-policy-weakened = Osłabiono zasadę „{ $setting }”: { $from } → { $to } (zmienił: { $by }).
alert-says-token-created = Utworzono token API dla „{ $service }” (utworzył: { $by }).
alert-says-token-new-address = Token API „{ $service }” użyty z adresu { $address }, z którego wcześniej nie korzystał.
alert-says-mass-export = { $who } wyeksportował lub pobrał { $rows } wierszy w ciągu godziny (próg: { $threshold }).
alert-says-backup-event-failed = { $event } — niepowodzenie: { $details }
alert-says-webhook-failing = Odbiorca webhooków { $url } ({ $endpoint }) nie odbiera zdarzeń: zdarzenia nie udało się dostarczyć w czasie ponawiania i zostało porzucone. Kolejne zdarzenia są nadal wysyłane. Sprawdź odbiorcę, a potem wyślij nieudane zdarzenia ponownie z dziennika dostaw.
alert-says-chain-broken = Łańcuch skrótów dziennika bezpieczeństwa jest przerwany w wierszu { $row }: { $reason }. Dziennik mógł zostać zmieniony; porównaj go z punktami kontrolnymi przechowywanymi poza serwerem.
alert-says-backup-stale = Najnowsza udana kopia zapasowa ({ $when }) jest starsza niż { $hours } godz.
alert-says-backup-never = Żadna kopia zapasowa jeszcze się nie udała, a nadzór działa od ponad { $hours } godz.
alert-says-verify-failed = Ostatnie próbne odtworzenie kopii w { $destination } nie powiodło się: { $error }
alert-says-certificate-expired = Certyfikat { $path } wygasł { $days ->
    [one] { $days } dzień
   *[other] { $days } dni
} temu.
alert-says-certificate-expires = Certyfikat { $path } wygaśnie za { $days ->
    [one] { $days } dzień
   *[other] { $days } dni
}.
alert-says-disk-low = Wolne { $free } MiB z { $total } MiB na dysku z katalogiem { $path } (poniżej { $mib } MiB lub { $percent } %).
alert-says-disk-critical = Wolne { $free } MiB z { $total } MiB na dysku z katalogiem { $path } (poniżej 1 GiB lub 2 %: zapisy wkrótce zaczną się nie udawać).

conflict-invoice-status = Status tej faktury: { $status }; ta czynność wymaga faktury o statusie: { $want }.
conflict-no-lines = Przed wystawieniem dodaj co najmniej jedną pozycję.
conflict-void-not-cancel = Wystawioną fakturę się unieważnia (z podaniem powodu), a nie anuluje.
conflict-transition = Faktury o statusie { $from } nie można zmienić na { $to }.
conflict-not-issued = Ta faktura nie jest już wystawiona.
conflict-no-unbilled-time = Ten projekt nie ma nierozliczonego czasu do zafakturowania.
conflict-journal-accounts = Konta dziennika nie są ustawione: administrator ustawia je na stronie eksportu księgowego.
conflict-einvoice-draft = Szkic nie ma e-faktury: najpierw wystaw fakturę.
conflict-einvoice-void = Unieważnionej faktury nie wysyła się jako e-faktury.
conflict-einvoice-no-profile = Profil fakturowy sprzedawcy nie jest ustawiony: administrator uzupełnia go na stronie profilu fakturowego.
conflict-einvoice-no-vat-id = E-faktura wymaga kraju i numeru VAT sprzedawcy: administrator dodaje je na stronie profilu fakturowego.
conflict-einvoice-no-lines = Faktura bez pozycji nie ma e-faktury.

# Odrzucone wartości kont, grup, tokenów i logowania.
account-invalid-notice-long = Komunikat może mieć najwyżej { $max } znaków.
account-invalid-notice-control = Komunikat nie może zawierać znaków sterujących.
account-invalid-no-address = Żądanie nie ma adresu klienta.
account-invalid-code-wrong = Kod drugiego składnika jest błędny lub wygasł.
account-invalid-no-mailed-codes = Twoje konto nie używa kodów wysyłanych e-mailem.
account-invalid-code-recent = Kod wysłano mniej niż minutę temu; sprawdź pocztę.
account-invalid-finish-signin = Najpierw dokończ logowanie.
account-invalid-enrol-reauth = Zacznij konfigurację od nowa: potwierdzenie nowej aplikacji wymaga ponownego podania hasła.
account-invalid-enrol-none = Zacznij konfigurację od nowa: żadna konfiguracja nie czeka.
account-invalid-code-long = Kod może mieć najwyżej 64 znaki.
account-invalid-code-mismatch = Ten kod się nie zgadza; sprawdź czas w urządzeniu i spróbuj następnego kodu.
account-invalid-method = Zasady tej instancji nie pozwalają na ten wybór.
account-invalid-service = Podaj nazwę usługi (1–80 znaków).
account-invalid-scopes = Zakresy „{ $scopes }” są nieprawidłowe: każdy ma postać moduł:read, moduł:write lub moduł:czynność, rozdzielone przecinkami (np. clients:read, invoices:write).
account-invalid-network = „{ $value }” nie jest adresem ani siecią (np. 10.1.0.0/16).
account-invalid-token-days = Token jest ważny od 1 do { $max } dni (limit zasad); podano { $days }.
account-invalid-group-name = Użyj 2–40 liter, cyfr, „-” lub „_”.
account-invalid-group-builtin = Grupa „{ $name }” jest wbudowana i nie można jej usunąć.
account-invalid-no-group = Nie ma grupy o nazwie „{ $name }”.
account-invalid-username = Użyj 2–64 liter, cyfr, „.”, „-”, „_” lub „@”.
account-invalid-email = To nie jest adres e-mail.
account-invalid-not-support = „{ $name }” nie jest kontem serwisowym.
account-invalid-setup-link = Ten link konfiguracyjny jest nieprawidłowy, wykorzystany lub wygasł. Nowy uzyskasz poleceniem `holdfast admin setup-link` na serwerze.

# Odrzucona wartość zasad.
policy-error-unknown = „{ $key }” nie jest ustawieniem zasad.
policy-error-not-number = { $setting }: „{ $value }” nie jest liczbą całkowitą; dozwolony zakres to { $min }–{ $max }.
policy-error-range = { $setting }: { $value } jest poza dozwolonym zakresem { $min }–{ $max }.
policy-error-choice = { $setting }: „{ $value }” nie jest jedną z możliwości.
policy-error-duplicate = { $setting }: ustawienie zapisano więcej niż raz.

# Wartość odrzucona przez jedną, szczególną kontrolę.
problem-date-ymd = Wpisz datę w postaci RRRR-MM-DD.
problem-period-reversed = Okres kończy się, zanim się zaczyna.
problem-period-long = Jeden eksport obejmuje najwyżej { $days } dni.
problem-no-change = Ten rekord nie ma zmiany pola o tym numerze.
problem-comment-length = Wpisz od 1 do { $max } znaków.
problem-not-filter = To nie jest filtr tej listy.
problem-search-empty = Wpisz słowo do wyszukania.
problem-sort = Sortuj według jednego z: { $options }.
problem-cursor = Ten wskaźnik strony jest nieprawidłowy; wróć na pierwszą stronę.
problem-decimal-three = Wpisz liczbę z najwyżej trzema miejscami po przecinku, np. 1,5.
problem-too-large = Liczba jest za duża.
problem-line-description = Opisz pozycję w 1–500 znakach.
problem-quantity-positive = Ilość musi być większa od 0.
problem-unit-price = Cena jednostkowa musi wynosić 0 lub więcej.
problem-void-reason = Podaj powód unieważnienia faktury (1–{ $max } znaków).
problem-file-empty = Plik jest pusty.
problem-file-too-large = Plik przekracza limit { $mib } MiB.
problem-file-kind = Ten rodzaj pliku nie jest przyjmowany. Przyjmowane są: PDF, PNG, JPEG, GIF, pliki Word, Excel, PowerPoint i OpenDocument bez makr, ZIP oraz zwykły tekst.
problem-file-choose = Wybierz plik.
problem-csv-choose = Wybierz plik CSV.
problem-restore-which = Wybierz zmianę do przywrócenia.
log-invalid-time = „{ $value }” nie jest czasem w postaci 2026-11-22T08:00.
log-invalid-type = „{ $value }” nie jest typem zdarzenia.
log-invalid-limit = Pokaż od 1 do 10 000 zdarzeń.

# Czego dotyczy alert.
alert-about-address = adres { $address }
alert-about-account = konto „{ $account }”
alert-about-instance = cała instancja
alert-about-from = { $who } z adresu { $address }
alert-about-setting = ustawienie zasad „{ $setting }”
alert-about-token = token API „{ $service }”
alert-about-exporter = { $who } ({ $kind })
alert-about-event = { $event }
alert-about-log = dziennik bezpieczeństwa
alert-about-backups = kopie zapasowe
alert-about-verify = próbne odtworzenie w { $destination }
alert-about-webhook = { $endpoint } ({ $url })
alert-actor-user = użytkownik
alert-actor-support = konto serwisowe
alert-actor-token = token API
alert-actor-console = konsola serwera
alert-actor-system = holdfast
alert-actor-anonymous = niezalogowany
alert-about-group = grupa „{ $group }”

# Krótkie wyrażenia zapisywane w szczegółach dziennika bezpieczeństwa.
log-value-account-disabled = konto wyłączone
log-value-account-locked = konto zablokowane
log-value-support-account-expired = konto serwisowe wygasło
log-value-support-account-used-from-outside-its-networks = konto serwisowe użyte spoza dozwolonych sieci
log-value-wrong-password = błędne hasło
log-value-temporary-password-expired = hasło tymczasowe wygasło
log-value-unknown-user = nieznany użytkownik
log-value-replaced-by-a-new-sign-in = zastąpione nowym logowaniem
log-value-unused = nieużywane zbyt długo
log-value-wrong-code-re-authentication = błędny kod (potwierdzenie zmiany)
log-value-wrong-current-password = błędne obecne hasło
log-value-email = kod e-mailem
log-value-totp = aplikacja uwierzytelniająca
log-value-enrolment = konfiguracja drugiego składnika
log-value-sign-in = logowanie
log-value-re-authentication = potwierdzenie zmiany
conflict-einvoice-damaged = Zapisane dane tej faktury są niespójne, więc nie powstanie z niej e-faktura. Administrator znajdzie szczegóły w dzienniku serwera.
conflict-parties-damaged = Nie można odczytać ani zapisać danych sprzedawcy i nabywcy tej faktury. Administrator znajdzie szczegóły w dzienniku serwera.
conflict-file-not-stored = Nie udało się zapisać pliku. Spróbuj ponownie; jeśli znów się nie uda, administrator znajdzie szczegóły w dzienniku serwera.
conflict-file-missing = Brakuje zapisanego pliku tej wersji. Administrator może go odtworzyć z kopii zapasowej.
conflict-file-damaged = Zapisany plik tej wersji jest uszkodzony (nie zgadza się z tym, co zapisano). Administrator może go odtworzyć z kopii zapasowej.
