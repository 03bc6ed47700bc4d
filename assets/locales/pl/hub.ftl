# Moduły biznesowe: listy, formularze, karty, import, faktury.

## Nazwy modułów, jeden rekord każdego, etykiety pól

module-clients = Klienci
module-clients-one = klient
module-contacts = Kontakty
module-contacts-one = kontakt
module-projects = Projekty
module-projects-one = projekt
module-tasks = Zadania
module-tasks-one = zadanie
module-time-entries = Czas pracy
module-time-entries-one = wpis czasu
module-invoices = Faktury
module-invoices-one = faktura
module-documents = Dokumenty
module-documents-one = dokument

field-clients-name = Nazwa
field-clients-tax_id = NIP
field-clients-email = E-mail
field-clients-phone = Telefon
field-clients-address = Adres
field-clients-status = Status
field-clients-notes = Uwagi
field-contacts-name = Imię i nazwisko
field-contacts-client_id = Klient
field-contacts-role = Rola
field-contacts-email = E-mail
field-contacts-phone = Telefon
field-contacts-notes = Uwagi
field-projects-name = Nazwa
field-projects-client_id = Klient
field-projects-manager = Kierownik
field-projects-status = Status
field-projects-start_date = Początek
field-projects-end_date = Koniec
field-projects-budget_hours = Budżet (godziny)
field-projects-budget_amount = Budżet
field-projects-hourly_rate = Stawka godzinowa
field-projects-currency = Waluta
field-projects-notes = Uwagi
field-tasks-title = Tytuł
field-tasks-project_id = Projekt
field-tasks-assignee = Wykonawca
field-tasks-status = Status
field-tasks-priority = Priorytet
field-tasks-due_date = Termin
field-tasks-estimate_minutes = Szacunek (minuty)
field-tasks-notes = Uwagi
field-time-entries-user = Użytkownik
field-time-entries-project_id = Projekt
field-time-entries-task_id = Zadanie
field-time-entries-date = Data
field-time-entries-minutes = Minuty
field-time-entries-billable = Do rozliczenia
field-time-entries-note = Opis
field-time-entries-invoice_id = Rozliczono na fakturze
field-invoices-client_id = Klient
field-invoices-project_id = Projekt
field-invoices-issue_date = Data wystawienia
field-invoices-due_date = Termin płatności
field-invoices-currency = Waluta
field-invoices-notes = Uwagi
field-invoices-number = Numer
field-invoices-status = Status
field-invoices-subtotal = Netto
field-invoices-tax_total = VAT
field-invoices-total = Brutto
field-invoices-issued_at = Wystawiono
field-invoices-paid_at = Zapłacono
field-invoices-void_reason = Powód unieważnienia
field-documents-title = Tytuł
field-documents-client_id = Klient
field-documents-project_id = Projekt
field-documents-current_version = Aktualna wersja

field-updated-at = Ostatnia zmiana

## Wartości do wyboru

choice-active = Aktywny
choice-prospect = Potencjalny
choice-inactive = Nieaktywny
choice-planned = Planowany
choice-on_hold = Wstrzymany
choice-completed = Zakończony
choice-cancelled = Anulowana
choice-open = Otwarte
choice-in_progress = W toku
choice-blocked = Zablokowane
choice-done = Zrobione
choice-low = Niski
choice-normal = Normalny
choice-high = Wysoki
choice-urgent = Pilny
choice-draft = Szkic
choice-issued = Wystawiona
choice-paid = Zapłacona
choice-void = Unieważniona

## Listy i formularze

list-export = Eksportuj CSV
list-import = Importuj CSV
list-search-placeholder = Szukane słowa
list-any = dowolny
list-sort = Sortuj
list-newest = od najnowszych
list-show = Pokaż
list-empty = Jeszcze nic tu nie ma.
list-next = Następna strona
invoice-column = Faktura
invoice-draft-id = Szkic nr { $id }
form-new = Nowy rekord: { $what }
form-edit = Edycja: { $what }
form-required = (wymagane)
form-save = Zapisz
form-cancel = Anuluj
form-correct = Popraw zaznaczone pola.

money-empty = wpisz kwotę
money-negative = musi wynosić 0 lub więcej
money-not-a-number = wpisz kwotę samymi cyframi, np. { $example }
money-decimals = wpisz najwyżej 2 miejsca po przecinku
money-grouping = grupy cyfr nie są po trzy; wpisz np. { $grouped } lub { $plain }
money-too-large = najwyżej { $max }

## Karty rekordów

card-edit = Edytuj
card-delete = Usuń
card-delete-confirm = Usunąć ten rekord ({ $what })?
card-details = Szczegóły
card-none-yet = Jeszcze brak.
card-add = Dodaj
card-comments = Komentarze
card-no-comments = Jeszcze brak komentarzy.
card-add-comment = Dodaj komentarz
card-post-comment = Opublikuj komentarz
card-history = Historia
card-created-by = Utworzył(a) { $actor },
card-restore = Przywróć wcześniejsze wartości
card-invoice-time = Zafakturuj nierozliczony czas
card-lines = Pozycje
card-description = Opis
card-qty = Ilość
card-quantity = Ilość
card-unit-price = Cena jedn.
card-tax = VAT
card-tax-rate = Stawka VAT
card-net = Netto
card-remove = Usuń
card-add-line = Dodaj pozycję
card-issue = Wystaw fakturę
card-discard = Odrzuć szkic
card-mark-paid = Oznacz jako zapłaconą

done-issued = Faktura wystawiona. Jej numer jest na karcie.
done-paid = Oznaczono jako zapłaconą.
done-discarded = Szkic odrzucony.
done-voided = Faktura unieważniona. Jej numer pozostaje zajęty.
done-line-added = Dodano pozycję.
done-line-removed = Usunięto pozycję.
done-commented = Dodano komentarz.
done-restored = Przywrócono wcześniejsze wartości.
done-uploaded = Przesłano nową wersję.

void-title = Unieważnij fakturę { $number }
void-explain = Unieważnienie wycofuje fakturę { $number } ({ $total }). Nie można tego cofnąć. Faktura zachowuje swój numer, który nigdy nie zostanie nadany innej fakturze; jej wpisy czasu można rozliczyć ponownie. Powód zostaje zapisany przy fakturze i w dzienniku bezpieczeństwa.
void-reason = Powód unieważnienia
void-button = Unieważnij fakturę
void-keep = Zachowaj fakturę

doc-versions = Wersje
doc-no-file = Nie przesłano jeszcze pliku.
doc-upload-label = Prześlij nową wersję
doc-upload = Prześlij
doc-print-view = Dokument faktury (widok do druku)
doc-download-pdf = Pobierz PDF

## Import CSV

import-title = Import: { $module }
import-heading = Import z CSV: { $module }
import-hint-header = UTF-8 z wierszem nagłówka. Kolumny:
import-hint-whole = Cały plik jest importowany w jednym kroku: jeśli którykolwiek wiersz ma problem, nic nie zostanie zaimportowane, a każdy problem jest wypisany z numerem wiersza i kolumną.
import-row = Wiersz
import-column = Kolumna
import-field = Pole
import-problem = Problem
import-file = Plik CSV
import-check = Sprawdź plik
import-checked =
    { $count ->
        [one] Sprawdzono jeden wiersz: wszystko w porządku. Nic nie zostanie zapisane, dopóki nie potwierdzisz.
        [few] Sprawdzono { $count } wiersze: wszystko w porządku. Nic nie zostanie zapisane, dopóki nie potwierdzisz.
       *[other] Sprawdzono { $count } wierszy: wszystko w porządku. Nic nie zostanie zapisane, dopóki nie potwierdzisz.
    }
import-confirm =
    { $count ->
        [one] Importuj jeden wiersz
        [few] Importuj { $count } wiersze
       *[other] Importuj { $count } wierszy
    }
import-done =
    { $count ->
        [one] Zaimportowano jeden wiersz.
        [few] Zaimportowano { $count } wiersze.
       *[other] Zaimportowano { $count } wierszy.
    }

## Dokument faktury (HTML i PDF), w języku, w którym wystawiane są faktury

invdoc-title = Faktura { $number }
invdoc-draft-title = Szkic faktury (niewystawiona)
invdoc-mark-draft = SZKIC
invdoc-mark-paid = ZAPŁACONA
invdoc-mark-void = UNIEWAŻNIONA
invdoc-number = Numer faktury
invdoc-issue-date = Data wystawienia
invdoc-not-issued = niewystawiona
invdoc-due-date = Termin płatności
invdoc-paid-on = Zapłacono
invdoc-draft-warning = To jest szkic: nie ma jeszcze numeru i nie jest fakturą.
invdoc-tax-id = NIP: { $id }
invdoc-seller-missing = Dane sprzedawcy nie są ustawione: administrator wpisuje je w Administracja → Profil faktury.
invdoc-seller = Sprzedawca
invdoc-buyer = Nabywca
invdoc-lines = Pozycje
invdoc-description = Opis
invdoc-quantity = Ilość
invdoc-unit-price = Cena jedn. netto ({ $currency })
invdoc-tax-rate = Stawka VAT
invdoc-net = Netto ({ $currency })
invdoc-no-lines = Jeszcze brak pozycji.
invdoc-tax-summary = Podsumowanie VAT
invdoc-rate = Stawka
invdoc-tax = VAT ({ $currency })
invdoc-gross = Brutto ({ $currency })
invdoc-total-net = Razem netto
invdoc-tax-total = VAT
invdoc-total = Do zapłaty
invdoc-payment = Płatność
invdoc-void-note = Ta faktura jest unieważniona: nie płać jej.
invdoc-paid-note = Ta faktura została zapłacona. Dziękujemy.
invdoc-bank = Rachunek bankowy
invdoc-reference = Tytuł przelewu
invdoc-pay-by = Zapłać do
invdoc-amount = Kwota
invdoc-notes = Uwagi
invdoc-page = { $title } · strona { $page } z { $pages }
invdoc-invoice-card = Karta faktury
invdoc-print-hint = Aby wydrukować, użyj polecenia drukowania w przeglądarce: menu i przyciski są pomijane.
invdoc-seller-link = Wpisz dane sprzedawcy

## Dlaczego wartość została odrzucona

problem-required = jest wymagane
problem-cannot-be-empty = nie może być puste
problem-not-single = musi być pojedynczą wartością, nie listą ani obiektem
problem-too-long = najwyżej { $max } znaków
problem-not-one-line = musi być jednym wierszem bez znaków sterujących
problem-not-email = to nie jest adres e-mail
problem-not-date = musi być datą w postaci 2026-11-22
problem-not-bool = musi być „tak” albo „nie”
problem-not-whole = musi być liczbą całkowitą
problem-out-of-range = musi mieścić się między { $min } a { $max }
problem-not-cents = musi być liczbą całkowitą groszy
problem-cents-range = musi mieścić się między 0 a 1 000 000 000 000 groszy
problem-not-choice = musi być jednym z: { $options }
problem-not-id = musi być identyfikatorem rekordu
problem-no-record = nie ma rekordu ({ $what }) o id { $id }
problem-no-user = nie ma użytkownika { $name }
