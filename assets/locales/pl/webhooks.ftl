# webhooks: strony tej integracji (issue 15).
