# Strona własnego konta zalogowanej osoby.

account = Twoje konto
account-hint = Zmiany na tej stronie wymagają ponownego podania obecnego hasła; wylogowują Cię ze wszystkich innych miejsc, a my informujemy Cię o nich e-mailem.
account-hint-code = Zmiany na tej stronie wymagają ponownego podania obecnego hasła i { $code }; wylogowują Cię ze wszystkich innych miejsc, a my informujemy Cię o nich e-mailem.
account-send-code = Wyślij mi kod potwierdzający e-mailem
account-code-app = Kod z aplikacji (lub kod odzyskiwania)
account-code-email = Kod wysłany e-mailem
account-factor-required = kod wysłany e-mailem (wymagany przez zasady instancji)
field-current-password = Obecne hasło
field-repeat-new-password = Powtórz nowe hasło
field-new-email = Nowy adres e-mail
account-change-password = Zmień hasło
account-now = Teraz:
account-policy = Zasady tej instancji:
account-scan = Zeskanuj ten kod aplikacją uwierzytelniającą, a potem w ciągu 10 minut wpisz 6-cyfrowy kod, który pokaże. Klucz do wpisania ręcznego:
account-turn-on-app = Włącz aplikację uwierzytelniającą
account-change-to = Zmień na
account-method-new-app = nową aplikację uwierzytelniającą
account-method-app = aplikację uwierzytelniającą (zalecane)
account-method-email = kody wysyłane e-mailem
account-method-none = bez drugiego składnika
account-email = Adres e-mail
account-change-email = Zmień adres e-mail
account-sessions = Gdzie jesteś zalogowany(-a)
account-device = Urządzenie
account-address = Adres
account-signed-in = Zalogowano
account-last-used = Ostatnio użyto
account-action = Działanie
account-this-browser = (ta przeglądarka)
account-began-at = (rozpoczęto z { $address })
account-sign-out-others = Wyloguj ze wszystkich innych miejsc
account-language = Język
account-language-label = Pokazuj holdfast w języku
account-language-default = Domyślny język instancji
account-language-save = Zapisz język
account-language-saved = Zapisano język.

account-wrong-password = Obecne hasło jest błędne.
account-password-changed = Hasło zmienione. Twoje pozostałe sesje zostały wylogowane.
account-code-sent = Wysłaliśmy Ci kod potwierdzający. Jest ważny 10 minut w tej sesji.
account-factor-email = Drugi składnik: kody wysyłane e-mailem. Twoje pozostałe sesje zostały wylogowane.
account-factor-off = Drugi składnik wyłączony. Twoje pozostałe sesje zostały wylogowane.
account-factor-app = Aplikacja uwierzytelniająca jest teraz Twoim drugim składnikiem. Twoje pozostałe sesje zostały wylogowane.
account-email-changed = Adres e-mail zmieniony; poinformowaliśmy oba adresy. Twoje pozostałe sesje zostały wylogowane.
account-session-ended = Ta sesja została wylogowana.
account-others-ended =
    { $count ->
        [0] Nie było innych sesji do wylogowania.
        [one] Wylogowano jedną inną sesję.
        [few] Wylogowano { $count } inne sesje.
       *[other] Wylogowano { $count } innych sesji.
    }
