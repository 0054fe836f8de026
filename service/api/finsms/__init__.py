"""The FinSMS v1 REST facade (/api/v1/sms) and its API keys (/api/v1/keys)."""
