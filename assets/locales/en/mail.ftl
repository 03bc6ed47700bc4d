# Mails to people: account notices, codes, administrator notices, alerts. Times are written in
# the instance's time zone, named after them.

mail-footer = If this was not you, tell your administrator at once: they can end every session of your account and reset it.
mail-when = { $at } ({ $zone })

mail-new-address-subject = holdfast: sign-in from a new address
mail-new-address-body = Your holdfast account "{ $username }" was signed in on { $at } from { $source }, an address it was not used from before.

mail-password-changed-subject = holdfast: your password was changed
mail-password-changed-body = The password of your holdfast account "{ $username }" was changed on { $at } from { $source }. Your other sessions were signed out.

mail-factor-changed-subject = holdfast: your second factor was changed
mail-factor-changed-body = The second factor of your holdfast account "{ $username }" is now { $method }; changed on { $at } from { $source }. Your other sessions were signed out.
mail-factor-totp = an authenticator app
mail-factor-email = codes sent by e-mail
mail-factor-none = none (password only)

mail-email-changed-subject = holdfast: your e-mail address was changed
mail-email-changed-body = The e-mail address of your holdfast account "{ $username }" was changed from { $old } to { $new } on { $at } from { $source }. Your other sessions were signed out.

mail-factor-reset-subject = holdfast: your second factor was reset
mail-factor-reset-body = An administrator ({ $admin }) reset the second factor of your holdfast account "{ $username }" on { $at }; every session of the account was ended.
mail-factor-reset-enrol = At your next sign-in you set up a second factor again.

mail-enrolled-subject = holdfast: an authenticator app was set up
mail-enrolled-body = The holdfast account "{ $username }" set up an authenticator app as its second factor on { $at } from { $source }.
mail-enrolled-admin-subject = holdfast: { $username } set up an authenticator app
mail-enrolled-admin-advice = If you did not expect this, reset the account's second factor (Users page, or `holdfast admin user reset-factor { $username }` on the server).

mail-code-minutes =
    { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    }
mail-code-signin-subject = holdfast sign-in code
mail-code-signin = Your holdfast sign-in code is { $code }
mail-code-signin-valid = It is valid for { $duration } and only for the sign-in you just started from { $source }. If that was not you, tell your administrator.
mail-code-setup-subject = holdfast: code to set up your second factor
mail-code-setup = Your holdfast set-up code is { $code }
mail-code-setup-valid = It is valid for { $duration } and only to confirm it is you before you set up an authenticator app, in the sign-in you just started from { $source }. If that was not you, tell your administrator.
mail-code-confirm-subject = holdfast: confirmation code
mail-code-confirm = Your holdfast confirmation code is { $code }
mail-code-confirm-valid = It is valid for { $duration }, only to confirm a change to your account in the session you are using from { $source }. If that was not you, tell your administrator.

mail-locked-subject = holdfast: account { $username } locked
mail-locked-body = The account "{ $username }" was locked on { $at } after { $attempts } failed sign-in attempts (the last from { $source }).
mail-locked-advice = It stays locked until an administrator unlocks it (Users page, or `holdfast admin user unlock { $username }` on the server).
mail-unlocked-subject = holdfast: account { $username } unlocked
mail-unlocked-body = The account "{ $username }" was unlocked by { $by } on { $at }.
mail-unlocked-console = the server console
mail-unlocked-advice = If you did not expect this, review the security log.

mail-alert-subject = holdfast alert ({ $severity }): { $rule } [{ $code }]
mail-alert-rule = Rule: { $rule }
mail-alert-severity = Severity: { $severity }
mail-alert-about = Subject: { $subject }
mail-alert-first-seen = First seen: { $at }
mail-alert-advice = Open Administration → Alerts to acknowledge or close it; the security log shows the events behind it.
mail-digest-subject = holdfast alerts digest: { $count }
mail-digest-intro =
    { $count ->
        [one] 1 alert was raised since the last digest:
       *[other] { $count } alerts were raised since the last digest:
    }
mail-digest-line = - [{ $severity }] { $rule } ({ $subject }): { $summary } — first seen { $at }, { $times ->
        [one] once
       *[other] { $times } times
    }, now { $state }
mail-digest-advice = Open Administration → Alerts to acknowledge or close them.

mail-test-subject = holdfast test message
mail-test-body = This is a test message from holdfast. If you can read it, e-mail from holdfast reaches you.
mail-backup-problem-subject = holdfast: backup problem
mail-backup-problem-intro = The holdfast backup did not complete everywhere:
mail-backup-problem-advice = Check the destinations and run `holdfast backup run --all` on the server.
