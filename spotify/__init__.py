"""The only code that speaks Spotify's protocol: the Accounts/Web API client and the sandbox."""
