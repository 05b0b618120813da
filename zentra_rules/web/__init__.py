"""The web playground's static files (HTML, JS, CSS and sample subjects), served by the HTTP app."""
