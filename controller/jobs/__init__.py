"""Running Ansible jobs: validation, execution through ansible-runner, event folding."""
