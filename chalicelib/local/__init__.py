"""The local stack: DynamoDB Local, moto server, chalice local and the event runner."""
