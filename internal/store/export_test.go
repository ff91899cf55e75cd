package store

// NextJiraDeliveryIDsQuery is the statement of NextJiraDeliveryIDs, for
// its plan test.
const NextJiraDeliveryIDsQuery = nextJiraDeliveryIDs
