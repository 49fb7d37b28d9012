"""Pure domain: rules and models that import no boto3, chalice or powertools."""
