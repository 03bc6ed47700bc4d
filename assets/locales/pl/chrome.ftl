# Ramka każdej strony, pulpit, wyszukiwanie i strony błędów.

skip-to-content = Przejdź do treści
instance = Instancja
menu = Menu
nav-main = Główne
nav-dashboard = Pulpit
nav-search = Szukaj
nav-admin = Administracja
sign-out = Wyloguj
footer = holdfast { $version } — lokalnie, szyfrowany, Twój.

banner-support-open = Dostęp serwisowy dostawcy jest otwarty: konto „{ $name }” może się logować do { $until }. Cofnij go w Administracja → Użytkownicy, gdy nie będzie już potrzebny.
banner-open-users = Otwórz użytkowników
banner-open-backups = Otwórz kopie zapasowe
banner-open-mail = Otwórz pocztę
banner-mail-failed =
    { $count ->
        [one] Nie udało się doręczyć jednej wiadomości e-mail.
        [few] Nie udało się doręczyć { $count } wiadomości e-mail.
       *[other] Nie udało się doręczyć { $count } wiadomości e-mail.
    }
banner-backup-never = Żadna kopia zapasowa nie dotarła jeszcze do { $place }.
banner-backup-old = Żadna kopia zapasowa nie dotarła do { $place } w ciągu ostatnich 26 godzin (ostatnia: { $last }).
banner-backup-failed = Ostatnia kopia zapasowa do { $place } nie powiodła się: { $error }
banner-backup-verify-failed = Najnowsze archiwum w { $place } nie przeszło próbnego odtworzenia: { $error }

## Pulpit

dashboard = Pulpit
dashboard-greeting = Dobrze Cię widzieć, { $name }
dashboard-lead = { $instance } — co jest do zrobienia, co się zmieniło i jak idzie praca.
dashboard-not-you = Jeśli to nie Ty, powiadom administratora.
dashboard-your-sessions = Twoje sesje
dashboard-due = Termin w ciągu 7 dni
dashboard-nothing-due = Nic nie jest pilne.
dashboard-recent = Ostatnie zmiany
dashboard-no-changes = Jeszcze żadnych zmian.
dashboard-hours = Godziny w tygodniu
dashboard-outstanding = Nieopłacone faktury
dashboard-outstanding-link = Wszystkie nieopłacone faktury, od najstarszego terminu
dashboard-burn = Wykorzystanie budżetu
dashboard-account = Twoje konto
dashboard-second-factor = Drugi składnik:
dashboard-security-settings = Ustawienia bezpieczeństwa
dashboard-users = Użytkownicy
dashboard-groups = Grupy
dashboard-policy = Zasady
dashboard-security-log = Dziennik bezpieczeństwa

chart-no-data = Brak danych
chart-hours = Zapisane godziny w tygodniu
chart-hours-value = { $hours } godz.
chart-burn = Wykorzystany budżet aktywnych projektów
chart-outstanding = Nieopłacone faktury według dni po terminie
aged-not-due = przed terminem
aged-1-30 = 1–30 dni
aged-31-60 = 31–60 dni
aged-61-90 = 61–90 dni
aged-over-90 = ponad 90 dni

recent-created = utworzył(a) { $actor }
recent-changed = { $field } — zmienił(a) { $actor }

previous-signin = Poprzednie logowanie: { $at } z adresu { $source };
previous-failures =
    { $count ->
        [0] od tego czasu bez nieudanych prób.
        [one] od tego czasu 1 nieudana próba.
        [few] od tego czasu { $count } nieudane próby.
       *[other] od tego czasu { $count } nieudanych prób.
    }

## Wyszukiwanie

search = Szukaj
search-heading = Szukaj wszędzie
search-words = Słowa
search-button = Szukaj
search-results =
    { $count ->
        [0] Brak wyników wśród najnowszych rekordów modułów.
        [one] Jeden wynik: najlepsze dopasowanie wśród najnowszych rekordów modułów.
        [few] { $count } wyniki: najlepsze dopasowania wśród najnowszych rekordów modułów.
       *[other] { $count } wyników: najlepsze dopasowania wśród najnowszych rekordów modułów.
    }
search-every-match = Wszystkie dopasowania, z filtrami i stronami:

## Błędy

error-back = Wróć do strony startowej
error-title = Błąd
status-400 = Błędne żądanie
status-401 = Wymagane logowanie
status-403 = Brak uprawnień
status-404 = Nie znaleziono
status-405 = Niedozwolone pod tym adresem
status-409 = Konflikt
status-413 = Za duże
status-422 = Nie przyjęto
status-429 = Za dużo prób
status-500 = Błąd serwera
status-503 = Niedostępne
error-not-found = Ta strona nie istnieje.
error-not-ready = holdfast uruchamia się lub zatrzymuje. Spróbuj ponownie za chwilę.
error-unauthenticated = Zaloguj się.
error-forbidden = Twoje grupy na to nie pozwalają. Jeśli tego potrzebujesz, poproś administratora.
error-csrf = Formularz nie został przyjęty, ponieważ nie pochodzi z tej strony. Odśwież stronę i spróbuj ponownie.
error-signin-failed = Nazwa użytkownika lub hasło są błędne albo to konto nie może się zalogować. Po wielu nieudanych próbach konto jest blokowane, dopóki administrator go nie odblokuje.
error-throttled = Za dużo nieudanych prób z Twojego adresu. Spróbuj ponownie za { $seconds } s.
error-busy = Serwer jest zajęty. Spróbuj ponownie za chwilę.
error-too-large = Żądanie jest za duże: ten adres przyjmuje najwyżej { $limit }.
error-internal = Coś poszło nie tak na serwerze. Administrator znajdzie szczegóły w dzienniku.
error-invalid-file =
    { $count ->
        [one] Plik ma jeden problem; niczego nie zaimportowano.
        [few] Plik ma { $count } problemy; niczego nie zaimportowano.
       *[other] Plik ma { $count } problemów; niczego nie zaimportowano.
    }

## Słowa, którymi strony nazywają pola schematu

value-yes = tak
value-no = nie
factor-totp = aplikacja uwierzytelniająca
factor-email = kod wysłany e-mailem
factor-none = brak
