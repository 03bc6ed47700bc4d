# Logowanie, drugi składnik, pierwsze uruchomienie.

signin = Zaloguj się
signin-heading = Zaloguj się do { $instance }
signin-notice = Komunikat
signin-no-admin = Ten hub nie ma jeszcze administratora, więc nikt nie może się zalogować. Pierwszego tworzy osoba obsługująca serwer: na serwerze uruchom
signin-no-admin-instance = (z --instance i nazwą tej instancji, gdy serwer obsługuje kilka) i otwórz wypisany jednorazowy link.
field-username = Nazwa użytkownika
field-password = Hasło
field-password-repeat = Powtórz hasło
field-email = E-mail
field-code = Kod
field-app-code = Kod z aplikacji
field-new-password = Nowe hasło
field-repeat-it = Powtórz je
continue = Dalej
cancel-sign-out = Anuluj i wyloguj
save-continue = Zapisz i przejdź dalej
passwords-differ = Hasła się różnią.
password-hint = Co najmniej { $min } znaków. Najlepsze są długie frazy; popularne hasła i Twoje imię są odrzucane.

setup = Pierwszy administrator
setup-heading = Utwórz pierwszego administratora
setup-intro = Ten jednorazowy link konfiguruje { $instance }. Działa raz i wygasa 24 godziny po wystawieniu.
setup-button = Utwórz administratora
setup-done = Konto administratora jest gotowe. Zaloguj się nim teraz.
setup-link-invalid = Ten link konfiguracyjny jest nieprawidłowy, już użyty lub wygasł. Na serwerze uruchom `holdfast admin setup-link`, aby otrzymać nowy.

code = Drugi składnik
confirm-heading = Potwierdź, że to Ty
code-hint-totp = Wpisz 6-cyfrowy kod z aplikacji uwierzytelniającej albo jeden z kodów odzyskiwania.
code-hint-email = Wysłaliśmy 6-cyfrowy kod na Twój adres e-mail. Jest ważny 10 minut i tylko dla tego logowania.
code-wrong = Ten kod jest błędny lub wygasł.

enroll = Skonfiguruj aplikację uwierzytelniającą
enroll-intro = Ta instancja wymaga aplikacji uwierzytelniającej jako drugiego składnika. Zeskanuj kod aplikacją (lub wpisz klucz), a potem wpisz 6-cyfrowy kod, który pokaże.
enroll-key = Klucz:
enroll-button = Włącz i przejdź dalej
enroll-new-key = Utworzono nowy klucz: zeskanuj nowy kod.

verify-intro = Twoje konto wymaga drugiego składnika, a nie masz jeszcze żadnego. Zanim skonfigurujesz aplikację uwierzytelniającą, potwierdź, że to naprawdę Ty.
verify-emailed = Wysłaliśmy 6-cyfrowy kod na Twój adres e-mail. Jest ważny 10 minut i tylko dla tego logowania. Jeśli administrator dał Ci kod rejestracyjny, możesz wpisać go zamiast tego.
verify-admin-code = Wpisz kod rejestracyjny od administratora. Administrator tworzy go na stronie Użytkownicy albo na serwerze poleceniem

recovery = Kody odzyskiwania
recovery-heading = Twoje kody odzyskiwania
recovery-warning = Każdy kod działa raz, jeśli zgubisz urządzenie. Zapisz je teraz poza komputerem: nie zostaną pokazane ponownie.
recovery-stored = Zapisałem(-am) je — dalej

newpassword = Wybierz nowe hasło
newpassword-reason-set = Twoje hasło ustawił administrator lub wygasło. Wybierz nowe, zanim przejdziesz dalej.
newpassword-reason = Wybierz nowe hasło, zanim przejdziesz dalej.
signin-invalid-username-long = Nazwa użytkownika może mieć najwyżej 64 znaki.
signin-invalid-password-long = Hasło może mieć najwyżej 256 znaków.
