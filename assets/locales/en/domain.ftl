# Sentences the domain writes about a refusal: password policy, account changes, CSV imports.

password-too-short = Use at least { $min } characters.
password-too-long = Use at most { $max } characters.
password-missing-classes = Use at least { $required } of these kinds of character: lower-case letters, upper-case letters, digits, and symbols or other characters (this password has { $found }).
password-common = This is one of the most commonly used passwords and is easy to guess; choose another.
password-contains-username = The password must not contain your user name.
password-contains-email = The password must not contain the name part of your e-mail address.
password-reused =
    { $count ->
        [one] It was used recently; the policy forbids reusing the last password.
       *[other] It was used recently; the policy forbids reusing the last { $count } passwords.
    }

account-error-not-found = There is no user named { $name }.
account-error-exists = A user named { $name } already exists.
account-error-wrong-password = The current password is wrong.
account-error-last-admin = This would leave the instance without an enabled administrator.

csv-not-utf8 = the file is not UTF-8 (byte { $byte })
csv-unreadable-header = cannot read the header row: { $detail }
csv-too-many-columns = the header has { $have } columns; this module's files have at most { $max }
csv-unknown-column = unknown column
csv-column-twice = column appears twice
csv-missing-column = required column is missing
csv-malformed = malformed CSV: { $detail }
csv-not-positive-id = must be a positive whole number
csv-too-many-rows = at most 100,000 rows per import
csv-id-exists = a record with id { $id } already exists
