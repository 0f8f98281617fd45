"""The Deployment Manager: applications, instances, machines, and what agents report."""
