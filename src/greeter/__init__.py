"""The birthday greeter: the code both Lambda functions deploy."""
