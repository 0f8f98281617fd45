"""The instance life cycle as pure functions: (state, event) -> (new state, effects). No I/O."""
