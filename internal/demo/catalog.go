package demo

import "github.com/advisoranalytics/advisor-analytics/store"

// advice is one kind of Azure Advisor recommendation.
type advice struct {
	category     store.Category
	text         string
	resourceType string // lower-case, as the portal export writes it; "Subscription" for subscription-level rows
	costly       bool   // carries potential annual savings
}

// catalog holds real Azure Advisor recommendation texts and resource types.
//
// The reliability and operational-excellence rows are labels and resource
// types from the Azure Advisor recommendation metadata published by
// Microsoft in the microsoft/mcp repository (advisor_recommendations.csv),
// Copyright (c) Microsoft Corporation, used under the MIT License. The other
// rows are recommendation names as the Azure portal shows them.
var catalog = []advice{
	// Reliability (metadata category "HighAvailability").
	{store.CategoryReliability, "Add Endpoint", "microsoft.network/trafficmanagerprofiles", false},
	{store.CategoryReliability, "Configure a snapshot for the Azure NetApp Files volume", "microsoft.netapp/netappaccounts/capacitypools/volumes", false},
	{store.CategoryReliability, "Application Gateway v1 has been retired. Please migrate to Application Gateway v2.", "microsoft.network/applicationgateways", false},
	{store.CategoryReliability, "Configure geo-replication for Cache for Redis instances to increase durability of applications", "microsoft.cache/redis", false},
	{store.CategoryReliability, "Deploy your Application Gateway across Availability Zones", "microsoft.network/applicationgateways", false},
	{store.CategoryReliability, "Enable Automatic Repair Policy on Azure Virtual Machine Scale Sets", "microsoft.compute/virtualmachinescalesets", false},
	{store.CategoryReliability, "Deploy an Azure API Management instance to multiple Azure regions for increased service availability", "microsoft.apimanagement/service", false},
	{store.CategoryReliability, "Use Premium tier for critical production workloads", "microsoft.containerregistry/registries", false},
	{store.CategoryReliability, "Use Azure Capacity Reservation for virtual machine (VM)", "microsoft.compute/virtualmachines", false},
	{store.CategoryReliability, "Azure Cosmos DB requires using TLS 1.2 or later", "microsoft.documentdb/databaseaccounts", false},
	{store.CategoryReliability, "Azure Database for PostgreSQL Single Server is being retired.", "microsoft.dbforpostgresql/servers", false},
	{store.CategoryReliability, "Use Standard or Premium tier", "microsoft.web/sites", false},
	{store.CategoryReliability, "Ensure backend pools contain at least two instances", "microsoft.network/loadbalancers", false},
	{store.CategoryReliability, "Set minimum instance count for App Service to 2", "microsoft.web/sites", false},
	{store.CategoryReliability, "Set up Geo-replication for Service Bus namespace", "microsoft.servicebus/namespaces", false},
	{store.CategoryReliability, "Traffic Manager monitor status should be online", "microsoft.network/trafficmanagerprofiles", false},
	{store.CategoryReliability, "Evaluate multi-region write capability in Azure Cosmos DB", "microsoft.documentdb/databaseaccounts", false},
	{store.CategoryReliability, "Key vaults should have soft delete enabled", "microsoft.keyvault/vaults", false},
	{store.CategoryReliability, "Enable custom maintenance schedule", "microsoft.dbforpostgresql/flexibleservers", false},
	{store.CategoryReliability, "Use Zone-redundant or Geo-zone-redundant Backup storage redundancy", "microsoft.sql/managedinstances", false},
	{store.CategoryReliability, "Upgrade Persistent Volumes using in-tree drivers to Azure CSI drivers", "microsoft.containerservice/managedclusters", false},
	{store.CategoryReliability, "Migrate to TLS 1.2 or above for SQL databases", "microsoft.sql/servers", false},
	{store.CategoryReliability, "Migrate to TLS 1.2 or above for Application Gateway", "microsoft.network/applicationgateways", false},
	{store.CategoryReliability, "Upgrade apps to Python 3.10", "microsoft.web/sites", false},
	{store.CategoryReliability, "Support for TLS 1.0 and TLS 1.1 in Azure storage accounts is ending", "microsoft.storage/storageaccounts", false},
	{store.CategoryReliability, "Enable Soft Delete to protect your blob data", "microsoft.storage/storageaccounts", false},
	{store.CategoryReliability, "Use Availability zones for better resiliency and availability", "microsoft.network/publicipaddresses", false},

	// Operational excellence.
	{store.CategoryOperationalExcellence, "Upgrade from legacy CRS 2.2.9 rule set to the latest DRS version", "microsoft.network/applicationgatewaywebapplicationfirewallpolicies", false},
	{store.CategoryOperationalExcellence, "Upgrade to the latest DRS rule set in Application Gateway WAF", "microsoft.network/applicationgatewaywebapplicationfirewallpolicies", false},
	{store.CategoryOperationalExcellence, "Upgrade to the latest DRS rule set in Front Door WAF", "microsoft.network/frontdoorwebapplicationfirewallpolicies", false},
	{store.CategoryOperationalExcellence, "Enable Trusted Launch foundational excellence, and modern security for Existing Generation 2 VM(s)", "microsoft.compute/virtualmachines", false},
	{store.CategoryOperationalExcellence, "Avoid using explicit key versions for customer-managed keys in Service Bus namespace", "microsoft.servicebus/namespaces", false},
	{store.CategoryOperationalExcellence, "Enable Admin State for both links of the ExpressRoute Direct", "microsoft.network/expressrouteports", false},
	{store.CategoryOperationalExcellence, "Design your storage accounts to prevent reaching the maximum subscription limit", "microsoft.storage/storageaccounts", false},
	{store.CategoryOperationalExcellence, "Create an Azure service health alert", "Subscription", false},

	// Cost.
	{store.CategoryCost, "Right-size or shutdown underutilized virtual machines", "microsoft.compute/virtualmachines", true},
	{store.CategoryCost, "Use Standard Storage to store Managed Disks snapshots", "microsoft.compute/snapshots", true},
	{store.CategoryCost, "Consider Cosmos DB reserved instance to save over your pay-as-you-go costs", "Subscription", true},
	{store.CategoryCost, "Consider virtual machine reserved instance to save over your on-demand costs", "Subscription", true},
	{store.CategoryCost, "Consider App Service reserved instance to save over your on-demand costs", "Subscription", true},
	{store.CategoryCost, "Consider SQL PaaS DB reserved instance to save over your pay-as-you-go costs", "Subscription", true},
	{store.CategoryCost, "Purchase Azure savings plan for compute to save money", "Subscription", true},
	{store.CategoryCost, "Delete unattached managed disks", "microsoft.compute/disks", true},
	{store.CategoryCost, "Right-size underutilized SQL databases", "microsoft.sql/servers/databases", true},
	{store.CategoryCost, "Stop or scale down unused App Service plans", "microsoft.web/serverfarms", true},

	// Security.
	{store.CategorySecurity, "Key Vault secrets should have an expiration date", "microsoft.keyvault/vaults", false},
	{store.CategorySecurity, "Machines should have vulnerability findings resolved", "microsoft.compute/virtualmachines", false},
	{store.CategorySecurity, "Storage accounts should restrict network access using virtual network rules", "microsoft.storage/storageaccounts", false},
	{store.CategorySecurity, "MFA should be enabled on accounts with owner permissions on your subscription", "Subscription", false},
	{store.CategorySecurity, "System updates should be installed on your machines", "microsoft.compute/virtualmachines", false},
	{store.CategorySecurity, "Management ports of virtual machines should be protected with just-in-time network access control", "microsoft.compute/virtualmachines", false},
	{store.CategorySecurity, "Secure transfer to storage accounts should be enabled", "microsoft.storage/storageaccounts", false},
	{store.CategorySecurity, "Azure SQL Database should be running TLS version 1.2 or newer", "microsoft.sql/servers", false},
	{store.CategorySecurity, "Function apps should only be accessible over HTTPS", "microsoft.web/sites", false},

	// Performance.
	{store.CategoryPerformance, "Improve app performance with Azure Accelerated Networking", "microsoft.compute/virtualmachines", false},
	{store.CategoryPerformance, "Upgrade to the latest version of the Azure Monitor agent", "microsoft.compute/virtualmachines", false},
	{store.CategoryPerformance, "Upgrade your Storage Client Library to the latest version for better reliability and performance", "microsoft.storage/storageaccounts", false},
	{store.CategoryPerformance, "Configure your Azure Cosmos DB query page size (MaxItemCount) to -1", "microsoft.documentdb/databaseaccounts", false},
	{store.CategoryPerformance, "Scale up your SQL database to improve query performance", "microsoft.sql/servers/databases", false},
	{store.CategoryPerformance, "Consider increasing the size of your NVA to address persistent high CPU", "microsoft.compute/virtualmachines", false},
}

// resourcePrefix names resources of a type the way teams usually do.
var resourcePrefix = map[string]string{
	"microsoft.compute/virtualmachines":                                  "vm",
	"microsoft.compute/virtualmachinescalesets":                          "vmss",
	"microsoft.compute/snapshots":                                        "snap",
	"microsoft.compute/disks":                                            "disk",
	"microsoft.storage/storageaccounts":                                  "st",
	"microsoft.keyvault/vaults":                                          "kv",
	"microsoft.network/trafficmanagerprofiles":                           "tm",
	"microsoft.network/applicationgateways":                              "agw",
	"microsoft.network/loadbalancers":                                    "lb",
	"microsoft.network/publicipaddresses":                                "pip",
	"microsoft.network/expressrouteports":                                "erp",
	"microsoft.network/applicationgatewaywebapplicationfirewallpolicies": "waf",
	"microsoft.network/frontdoorwebapplicationfirewallpolicies":          "fdwaf",
	"microsoft.netapp/netappaccounts/capacitypools/volumes":              "anf",
	"microsoft.cache/redis":                                              "redis",
	"microsoft.apimanagement/service":                                    "apim",
	"microsoft.containerregistry/registries":                             "acr",
	"microsoft.containerservice/managedclusters":                         "aks",
	"microsoft.documentdb/databaseaccounts":                              "cosmos",
	"microsoft.dbforpostgresql/servers":                                  "psql",
	"microsoft.dbforpostgresql/flexibleservers":                          "psqlf",
	"microsoft.sql/servers":                                              "sql",
	"microsoft.sql/servers/databases":                                    "sqldb",
	"microsoft.sql/managedinstances":                                     "sqlmi",
	"microsoft.servicebus/namespaces":                                    "sb",
	"microsoft.web/sites":                                                "app",
	"microsoft.web/serverfarms":                                          "asp",
}

type clientSeed struct {
	name     string
	short    string
	industry store.Industry
	status   store.ClientStatus
}

// clients are fictitious companies.
var clientSeeds = []clientSeed{
	{"Contoso Pharmaceuticals", "Contoso", store.IndustryHealthcare, store.ClientActive},
	{"Fabrikam Capital", "Fabrikam", store.IndustryFinance, store.ClientActive},
	{"Northwind Traders", "Northwind", store.IndustryRetail, store.ClientActive},
	{"Tailspin Manufacturing", "Tailspin", store.IndustryManufacturing, store.ClientActive},
	{"Woodgrove Bank", "Woodgrove", store.IndustryFinance, store.ClientActive},
	{"Adatum Corporation", "Adatum", store.IndustryTechnology, store.ClientActive},
	{"Litware Learning", "Litware", store.IndustryEducation, store.ClientInactive},
	{"Proseware Cloud", "Proseware", store.IndustryTechnology, store.ClientActive},
	{"Riverside City Digital Services", "Riverside", store.IndustryGovernment, store.ClientActive},
	{"Wingtip Consulting Group", "Wingtip", store.IndustryConsulting, store.ClientActive},
	{"Lamna Healthcare", "Lamna", store.IndustryHealthcare, store.ClientSuspended},
	{"Alpine Ski House", "Alpine", store.IndustryOther, store.ClientInactive},
}

type userSeed struct {
	username, fullName, role string
	staff                    bool
	ip                       string
	agent                    int // index in userAgents
}

var userSeeds = []userSeed{
	{"sarah.chen", "Sarah Chen", "admin", false, "203.0.113.10", 0},
	{"ops.bot", "Platform Operations", "viewer", true, "198.51.100.7", 5},
	{"marcus.reid", "Marcus Reid", "manager", false, "203.0.113.24", 1},
	{"priya.nair", "Priya Nair", "manager", false, "2001:db8:4a::15", 2},
	{"tom.becker", "Tom Becker", "analyst", false, "203.0.113.41", 0},
	{"lena.kovac", "Lena Kovač", "analyst", false, "192.0.2.77", 3},
	{"diego.alvarez", "Diego Álvarez", "analyst", false, "203.0.113.58", 4},
	{"amy.walsh", "Amy Walsh", "viewer", false, "198.51.100.33", 1},
}

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"python-requests/2.32.3",
}
