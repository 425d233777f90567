"""Pure value types and rules: no I/O, nothing imported from the rest of aidledger."""
