# Latchkey auf Deutsch (Sie-Form). Quelle: ../en/latchkey.ftl

## Gemeinsam
back-to-login = Zurück zur Anmeldung
back-to-start = Zurück zur Startseite
expired-form = Dieses Formular ist abgelaufen oder kam von einer anderen Website. Bitte versuchen Sie es noch einmal.
too-many = Zu viele fehlgeschlagene Versuche. Versuchen Sie es in { $wait } erneut, oder setzen Sie Ihr Passwort zurück.
wait-minutes = { $count ->
    [one] einer Minute
   *[other] { $count } Minuten
}
wait-hours = { $count ->
    [one] einer Stunde
   *[other] { $count } Stunden
}
lifetime-days = { $count ->
    [one] einem Tag
   *[other] { $count } Tagen
}
lifetime-hours = { $count ->
    [one] einer Stunde
   *[other] { $count } Stunden
}
lifetime-minutes = { $count ->
    [one] einer Minute
   *[other] { $count } Minuten
}
lifetime-seconds = { $count ->
    [one] einer Sekunde
   *[other] { $count } Sekunden
}
rules-length = Mindestens { $count } Zeichen
rules-similar = Keine Ähnlichkeit mit Ihrem Benutzernamen oder Ihrer E-Mail-Adresse
rules-common = Kein häufig verwendetes Passwort und nicht nur Ziffern
field-new-password = Neues Passwort
field-new-password-again = Neues Passwort wiederholen

## Anmelden
login-title = Anmelden
login-username = Benutzername oder E-Mail-Adresse
login-password = Passwort
login-submit = Anmelden
login-forgot = Passwort vergessen?
login-wrong = Benutzername oder Passwort stimmen nicht. Bitte prüfen Sie beides und versuchen Sie es erneut.

## Passwort vergessen
forgot-title = Passwort vergessen?
forgot-intro-email = Geben Sie die E-Mail-Adresse Ihres Kontos ein. Wir senden Ihnen dann einen Link, mit dem Sie ein neues Passwort wählen können.
forgot-intro-username = Geben Sie den Benutzernamen Ihres Kontos ein. Wir senden dann einen Link zum Wählen eines neuen Passworts an die E-Mail-Adresse des Kontos.
forgot-email = E-Mail-Adresse
forgot-username = Benutzername
forgot-submit = Link senden
inbox-title = Prüfen Sie Ihren Posteingang
inbox-sent-email = Wenn ein Konto diese Adresse verwendet, ist ein Link zum Wählen eines neuen Passworts unterwegs. Er funktioniert einmal und läuft in { $lifetime } ab.
inbox-sent-username = Wenn es ein Konto mit diesem Benutzernamen gibt, ist ein Link zum Wählen eines neuen Passworts an dessen E-Mail-Adresse unterwegs. Er funktioniert einmal und läuft in { $lifetime } ab.
inbox-nothing = Nach ein paar Minuten ist noch nichts angekommen? Sehen Sie im Spam-Ordner nach.
inbox-ask-again = Erneut anfordern

## Der Link und sein Formular
reset-title = Neues Passwort wählen
reset-for-account = Für das Konto
reset-advice = Einige zusammenhanglose Wörter ergeben ein starkes Passwort, das sich leicht merken lässt. Anforderungen:
reset-submit = Neues Passwort festlegen
done-title = Passwort geändert
done-text = Ihr neues Passwort ist gesetzt, und alle anderen Sitzungen Ihres Kontos wurden abgemeldet.
done-login = Anmelden
invalid-title = Dieser Link funktioniert nicht
invalid-text = Der Link ist ungültig, wurde bereits verwendet oder ist abgelaufen. Links zum Zurücksetzen funktionieren nur einmal und nur für begrenzte Zeit.
invalid-again = Neuen Link anfordern

## Konto
account-title = Ihr Konto
account-username = Benutzername
account-email = E-Mail
account-change = Passwort ändern
account-logout = Abmelden
account-changed = Ihr Passwort wurde geändert. Alle anderen Sitzungen wurden abgemeldet.
change-title = Passwort ändern
change-intro = Alle anderen Sitzungen Ihres Kontos werden abgemeldet. Anforderungen an das neue Passwort:
change-current = Aktuelles Passwort
change-submit = Passwort ändern
back-to-account = Zurück zu Ihrem Konto

## Fehler
error-form-title = Mit dem Formular stimmte etwas nicht
error-form-text = Bitte gehen Sie zurück und versuchen Sie es erneut.
error-address-title = Diese Adresse ist ungültig
error-address-text = Der Link, dem Sie gefolgt sind, ist fehlerhaft. Bitte prüfen Sie ihn, oder beginnen Sie noch einmal auf der ersten Seite.
error-expired-title = Dieses Formular ist abgelaufen
error-expired-text = Das Formular war zu alt oder kam von einer anderen Website. Bitte gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.
error-throttled-title = Zu viele Versuche
error-throttled-text = Bitte versuchen Sie es in { $wait } erneut.
error-unavailable-title = Vorübergehend nicht verfügbar
error-unavailable-text = { $product } kann gerade nicht antworten: Die Datenbank ist nicht erreichbar, oder der Dienst ist stark ausgelastet. Bitte versuchen Sie es gleich noch einmal.
error-internal-title = Etwas ist schiefgelaufen
error-internal-text = Das konnten wir nicht abschließen. Bitte versuchen Sie es später erneut.
not-found-title = Seite nicht gefunden
not-found-text = Unter dieser Adresse gibt es keine Seite. Wenn Sie einem Link aus einer E-Mail gefolgt sind, kopieren Sie den ganzen Link in die Adressleiste; andernfalls beginnen Sie noch einmal auf der ersten Seite.
not-found-start = Zur Startseite

## Datum und Uhrzeit
datetime-format = { $day }. { $month } { $year }, { $time } UTC
month-1 = Januar
month-2 = Februar
month-3 = März
month-4 = April
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = August
month-9 = September
month-10 = Oktober
month-11 = November
month-12 = Dezember

## Meldungen der API (Djangos Übersetzungen)
api-field-required = Dieses Feld ist zwingend erforderlich.
api-field-blank = Dieses Feld darf nicht leer sein.
api-invalid-email = Bitte gültige E-Mail-Adresse eingeben.
api-password-mismatch = Die beiden Passwörter sind nicht identisch.
api-invalid-login = Ungültiger Benutzername oder ungültiges Passwort
api-invalid-token = Das eingegebene Einmalpasswort ist ungültig. Bitte prüfen Sie es und versuchen Sie es erneut.
api-too-similar-username = Das Passwort ist dem Benutzernamen zu ähnlich.
api-too-similar-email = Das Passwort ist der E-Mail-Adresse zu ähnlich.
api-too-short = { $count ->
    [one] Dieses Passwort ist zu kurz. Es muss mindestens { $count } Zeichen enthalten.
   *[other] Dieses Passwort ist zu kurz. Es muss mindestens { $count } Zeichen enthalten.
}
api-too-long = Dieses Passwort ist zu lang.
api-too-common = Dieses Passwort ist zu üblich.
api-entirely-numeric = Dieses Passwort ist komplett numerisch.
api-old-password = Ihr altes Passwort war falsch eingegeben. Bitte neu eingeben.
api-not-found = Nicht gefunden.
api-no-credentials = Anmeldedaten fehlen.
api-invalid-bearer = Ungültiges Token.
api-too-large = Der Inhalt der Anfrage ist zu groß.
api-throttled = Die Anfrage wurde gedrosselt. Wieder verfügbar in { $count } Sekunden.

## E-Mails
mail-footer = Diese Nachricht wurde automatisch von { $product } gesendet. Antworten werden nicht gelesen.
mail-hello = Hallo { $username },
mail-reset-subject = Setzen Sie Ihr { $product }-Passwort zurück
mail-reset-intro = Jemand, hoffentlich Sie, hat darum gebeten, das Passwort Ihres { $product }-Kontos zurückzusetzen. Wählen Sie über die Schaltfläche unten ein neues.
mail-reset-intro-text = Jemand, hoffentlich Sie, hat darum gebeten, das Passwort Ihres { $product }-Kontos zurückzusetzen. Hier wählen Sie ein neues:
mail-reset-button = Neues Passwort wählen
mail-reset-expiry = Der Link funktioniert einmal und läuft am { $expires_at } ab (in { $lifetime }).
mail-reset-copy = Falls die Schaltfläche nicht funktioniert, kopieren Sie diese Adresse in Ihren Browser:
mail-reset-ignore = Wenn Sie das nicht angefordert haben, ignorieren Sie diese Nachricht: Ihr Passwort bleibt, wie es ist.
mail-changed-subject = Ihr { $product }-Passwort wurde geändert
mail-changed-text = Das Passwort Ihres Kontos wurde am { $changed_at } geändert. Alle anderen Sitzungen wurden abgemeldet.
mail-email-subject = Ihre E-Mail-Adresse bei { $product } wurde geändert
mail-email-text = Die E-Mail-Adresse Ihres Kontos wurde am { $changed_at } von einer Administratorin oder einem Administrator geändert. An diese Adresse geht keine Post mehr zu diesem Konto, und ein vor der Änderung hierher gesendeter Link zum Zurücksetzen des Passworts funktioniert nicht mehr.
mail-email-advice = Wenn Sie das nicht veranlasst haben, wenden Sie sich sofort an die Verwaltung der Website.
mail-changed-from = Von
mail-changed-agent = Browser oder App
mail-changed-secure = Wenn Sie das nicht waren, sichern Sie Ihr Konto sofort: Die Schaltfläche unten meldet alle Sitzungen ab, entfernt das Passwort und sendet Ihnen einen Link, mit dem Sie ein neues wählen.
mail-changed-secure-text = Wenn Sie das nicht waren, sichern Sie Ihr Konto sofort: Dieser Link meldet alle Sitzungen ab, entfernt das Passwort und sendet Ihnen einen Link, mit dem Sie ein neues wählen.
mail-wasnt-me = Das war ich nicht
mail-reset-cancel = Um den Link sofort unbrauchbar zu machen:
mail-reset-cancel-link = Das habe ich nicht angefordert
account-sessions = Ihre Sitzungen

## Security notices and devices
wasnt-title = Konto sichern
wasnt-intro = Wenn Sie Ihr Passwort nicht geändert haben, bestätigen Sie unten. Wir werden dann:
wasnt-step-signout = alle Browser und Apps des Kontos abmelden,
wasnt-step-remove = das aktuelle Passwort entfernen, sodass sich niemand mehr damit anmelden kann,
wasnt-step-mail = Ihnen einen Link zum Wählen eines neuen Passworts senden.
wasnt-submit = Das war ich nicht: Konto sichern
wasnt-aside = Wenn Sie das Passwort selbst geändert haben, schließen Sie diese Seite: Es hat sich nichts geändert.
wasnt-done-title = Ihr Konto ist gesichert
wasnt-done-text = Alle Sitzungen wurden abgemeldet und das Passwort wurde entfernt. Ein Link zum Wählen eines neuen Passworts ist an die E-Mail-Adresse des Kontos unterwegs.
notice-invalid-text = Der Link ist ungültig, wurde bereits verwendet oder ist abgelaufen. Diese Links funktionieren nur einmal und nur für begrenzte Zeit.
notice-invalid-worried = Sorgen um Ihr Konto? Wählen Sie ein neues Passwort: Damit werden alle anderen Sitzungen abgemeldet.
notice-invalid-button = Neues Passwort wählen
cancel-title = Zurücksetzen des Passworts abbrechen
cancel-intro = Hat jemand anderes das Zurücksetzen Ihres Passworts angefordert? Bestätigen Sie unten, dann funktioniert der Link aus der E-Mail sofort nicht mehr. Ihr Passwort bleibt, wie es ist.
cancel-submit = Das habe ich nicht angefordert: Link ungültig machen
cancel-aside = Haben Sie es doch selbst angefordert? Wählen Sie mit dem anderen Link in der E-Mail ein neues Passwort.
cancelled-title = Zurücksetzen abgebrochen
cancelled-text = Der Link funktioniert nicht mehr. Ihr Passwort wurde nicht geändert.
sessions-title = Ihre Sitzungen
sessions-intro = Browser und Apps, die bei Ihrem Konto angemeldet sind. Beenden Sie alle, die Sie nicht kennen, und ändern Sie dann Ihr Passwort.
sessions-none = Keine weiteren Sitzungen.
sessions-this = Dieser Browser
sessions-signed-in = Angemeldet
sessions-last-used = Zuletzt verwendet
sessions-from = Von
sessions-agent = Browser oder App
sessions-end-current = Diese Sitzung beenden (abmelden)
sessions-end = Diese Sitzung beenden
sessions-ended = Die Sitzung wurde beendet.
sessions-already-ended = Diese Sitzung war bereits beendet.
sessions-browser = Browser-Sitzung
sessions-app = App (API-Token)
sessions-not-since = seit der Anmeldung nicht
sessions-unknown = unbekannt
