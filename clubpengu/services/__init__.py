"""Services: the rules. They raise DomainErrors and never import the transport."""
