# Copy to instance/config.py to configure Casework without environment variables.
# Environment variables (DATABASE_URL, REDIS_URL, SECRET_KEY, SMTP_URL, ...) take precedence over this file.

# DATABASE_URL = "postgresql://casework@127.0.0.1:5432/casework"
# REDIS_URL = "redis://127.0.0.1:6379/0"        # job queue and shared login rate limits
# SESSION_COOKIE_SECURE = True                   # when served over HTTPS (or set CASEWORK_SECURE_COOKIES=1)
# LOGIN_RATE_LIMIT = "10 per minute"             # failed logins per client address
# MAX_CONTENT_LENGTH = 25 * 1024 * 1024          # largest request, uploads included (bytes)
# ORGANISATION_NAME = "Example Municipality"     # printed in the page header of documents (PDFs)
# DOCUMENT_MEMORY_MB = 512                       # memory limit of the child process rendering each PDF
# DOCUMENT_TIMEOUT_S = 60                        # time limit of each PDF render (seconds)
