# The signed-in person's own page.

account = Your account
account-hint = Changes on this page need your current password again; they sign you out everywhere else and we tell you by e-mail.
account-hint-code = Changes on this page need your current password and { $code } again; they sign you out everywhere else and we tell you by e-mail.
account-send-code = E-mail me a confirmation code
account-code-app = Code from your app (or a recovery code)
account-code-email = Code we e-mailed you
account-factor-required = e-mailed code (required by the instance policy)
field-current-password = Current password
field-repeat-new-password = Repeat the new password
field-new-email = New e-mail address
account-change-password = Change password
account-now = Now:
account-policy = Policy of this instance:
account-scan = Scan this code with your authenticator app, then enter the 6-digit code it shows within 10 minutes. The key, to type it instead:
account-turn-on-app = Turn on the authenticator app
account-change-to = Change to
account-method-new-app = a new authenticator app
account-method-app = an authenticator app (recommended)
account-method-email = codes sent by e-mail
account-method-none = no second factor
account-email = E-mail address
account-change-email = Change e-mail address
account-sessions = Where you are signed in
account-device = Device
account-address = Address
account-signed-in = Signed in
account-last-used = Last used
account-action = Action
account-this-browser = (this browser)
account-began-at = (began at { $address })
account-sign-out-others = Sign out everywhere else
account-language = Language
account-language-label = Show holdfast in
account-language-default = The instance's default
account-language-save = Save language
account-language-saved = Language saved.

account-wrong-password = The current password is wrong.
account-password-changed = Password changed. Your other sessions were signed out.
account-code-sent = We e-mailed you a confirmation code. It is valid for 10 minutes in this session.
account-factor-email = Second factor: e-mailed codes. Your other sessions were signed out.
account-factor-off = Second factor turned off. Your other sessions were signed out.
account-factor-app = The authenticator app is now your second factor. Your other sessions were signed out.
account-email-changed = E-mail address changed; both addresses were told. Your other sessions were signed out.
account-session-ended = That session was signed out.
account-others-ended =
    { $count ->
        [0] There were no other sessions to sign out.
        [one] One other session signed out.
       *[other] { $count } other sessions signed out.
    }
