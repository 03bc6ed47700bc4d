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
