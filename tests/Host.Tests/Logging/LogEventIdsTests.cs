using System.Reflection;
using Hypervisor.Host.Logging;
using Hypervisor.Host.Tests.Support;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Logging;

/// <summary>The event id catalogue against the contract and against the source-generated log methods.</summary>
[TestFixture]
public class LogEventIdsTests
{
    private static readonly Dictionary<string, int> Catalogue = typeof(LogEventIds)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .ToDictionary(f => f.Name, f => (int)f.GetRawConstantValue()!);

    [Test]
    public void The_catalogue_is_the_contract_ids_and_names()
    {
        Assert.That(Catalogue.Values.Order(), Is.EqualTo(Enumerable.Range(1, Catalogue.Count)), "ids start at 1 with no gap or repeat");
        Assert.That(Catalogue.ToDictionary(c => c.Value, c => c.Key),
            Is.EquivalentTo(LogContract.Events.ToDictionary(e => e.Key, e => e.Value.Name)), "every id has the contract's name");
    }

    [Test]
    public void Each_id_has_exactly_one_source_generated_method_of_its_name()
    {
        var methods = typeof(HypervisorLog).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();
        Assert.That(methods.Select(m => m.Attribute!.EventId).Order(), Is.EqualTo(Catalogue.Values.Order()), "one method per id");
        foreach (var (method, attribute) in methods)
        {
            Assert.That(attribute!.EventName, Is.EqualTo(method.Name), $"{method.Name}: the event name is the method's");
            Assert.That(Catalogue[method.Name], Is.EqualTo(attribute.EventId), $"{method.Name}: the id is the catalogue's");
            Assert.That(attribute.Message, Does.Not.Contain("{0}"), $"{method.Name}: a template with named properties");
        }
    }
}
